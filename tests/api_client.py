"""The management API's test client: tokens with chosen scopes and a client that speaks JSON to
/api/v2, for the API tests and the integration tests that drive a worker through the API."""

import json

import pytest
from django.test import Client

from phoneprovider.services.tokens import token_create

BASE = "/api/v2"
TRIGGER = [{"id": "custom-phone-provider", "version": "v1"}]


class Api:
    """A thin JSON client: ``api.post("/actions/actions", {...})`` → the Django response."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**base, **(headers or {})}

    def request(
        self,
        method: str,
        path: str,
        data=None,
        *,
        headers=None,
        content_type=None,
        raw: bytes | str | None = None,
        query: dict | None = None,
    ):
        if query:
            path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        if raw is None and data is not None:
            raw = json.dumps(data)
            content_type = content_type or "application/json"
        return self.client.generic(
            method,
            BASE + path,
            raw or "",
            content_type=content_type or "application/json",
            headers=self._headers(headers),
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("POST", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self.request("PATCH", path, data, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def make_token(db):
    def make(scopes="all", name="ci-robot", **kwargs) -> str:
        return token_create(actor="tests", name=name, scopes=scopes, **kwargs).raw

    return make


@pytest.fixture
def api(make_token) -> Api:
    """A client holding a token with every scope, named ``ci-robot``."""
    return Api(make_token())


@pytest.fixture
def api_as(make_token):
    def make(scopes, **kwargs) -> Api:
        return Api(make_token(scopes, **kwargs))

    return make


def assert_error(
    response,
    status: int,
    *,
    message: str | None = None,
    contains: str = "",
    error_code: str | None = None,
) -> dict:
    """The response is Auth0's error body with ``status``; return it for more checks."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert set(body) <= {"statusCode", "error", "message", "errorCode"}
    if message is not None:
        assert body["message"] == message
    assert contains in body["message"]
    if error_code is not None:
        assert body.get("errorCode") == error_code
    return body


def action_deployed(api: Api, code: str, *, name="gateway", secrets=None, **fields) -> dict:
    """Create and deploy an Action through the API (custom-phone-provider unless
    ``supported_triggers`` says otherwise); the Action as the API answers."""
    body = {"name": name, "supported_triggers": TRIGGER, "code": code, "deploy": True, **fields}
    if secrets is not None:
        body["secrets"] = [{"name": key, "value": value} for key, value in secrets.items()]
    response = api.post("/actions/actions", body)
    assert response.status_code == 201, response.content
    return response.json()


def custom_provider_select(api: Api, delivery_methods=("text",)) -> dict:
    """Make the custom provider (the deployed handler) the installation's, through the API."""
    response = api.post(
        "/branding/phone/providers",
        {
            "name": "custom",
            "credentials": {},
            "configuration": {"delivery_methods": list(delivery_methods)},
        },
    )
    assert response.status_code == 201, response.content
    return response.json()
