"""Fuzz every documented operation against our own OpenAPI document: never a 5xx.

Requests go through Django's test client (not a live WSGI server) so that they share the test's
database transaction.
"""

import json
import os
from urllib.parse import urlencode, urlsplit

import pytest

schemathesis = pytest.importorskip("schemathesis")

from django.test import Client  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from phoneprovider.api.docs import openapi_document  # noqa: E402

schema = schemathesis.openapi.from_dict(openapi_document())
BASE = "http://testserver/api/v2"


@pytest.fixture
def bearer(make_token) -> dict:
    return {"Authorization": f"Bearer {make_token()}"}


def send(case, headers: dict):
    kwargs = case.as_transport_kwargs(base_url=BASE, headers=headers)
    url = urlsplit(kwargs["url"])
    path = url.path + (f"?{url.query}" if url.query else "")
    params = kwargs.get("params") or {}
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
    request_headers = {
        k: v
        for k, v in (kwargs.get("headers") or {}).items()
        if k.lower() not in ("content-length", "host")
    }
    content_type = request_headers.pop("Content-Type", request_headers.pop("content-type", ""))
    if "json" in kwargs:
        body, content_type = json.dumps(kwargs["json"]), content_type or "application/json"
    else:
        body = kwargs.get("data") or kwargs.get("content") or ""
        if isinstance(body, dict):
            body = urlencode(body, doseq=True)
    return Client().generic(
        kwargs["method"],
        path,
        body,
        content_type=content_type or "application/json",
        headers=request_headers,
    )


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx(case, bearer, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    # /test waits for a worker that this in-process run does not start: wait 0.1 s, then 503.
    settings.ACTIONS_EXECUTION_TIMEOUT = -9.9
    response = send(case, bearer)
    if case.path.endswith("/test") and response.status_code == 503:
        return
    assert response.status_code < 500, (case.method, case.formatted_path, response.content)
    if response.status_code >= 400:
        body = response.json()
        assert body["statusCode"] == response.status_code and body["message"]
