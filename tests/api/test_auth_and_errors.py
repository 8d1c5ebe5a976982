"""Tokens, scopes, rate limits and Auth0's error body on every failure path."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from phoneprovider.models import ApiToken
from phoneprovider.services.tokens import token_revoke
from tests.api.conftest import Api, assert_error

pytestmark = pytest.mark.django_db


def test_missing_token_is_401():
    response = Api(None).get("/branding/phone/providers")
    assert_error(response, 401, message="Missing authentication")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401():
    assert_error(Api("ppt_nope").get("/actions/actions"), 401, message="Invalid token")


def test_non_bearer_scheme_is_401(api):
    response = api.get("/actions/actions", headers={"Authorization": f"Basic {api.token}"})
    assert_error(response, 401)


def test_expired_token_is_401(make_token):
    token = make_token()
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(Api(token).get("/actions/actions"), 401, contains="Expired token")


def test_revoked_token_is_401(make_token):
    token = make_token()
    token_revoke(ApiToken.objects.get(), actor="admin")
    assert_error(Api(token).get("/actions/actions"), 401, message="Invalid token")


def test_missing_scope_is_403_naming_the_scope(api_as):
    response = api_as("read:actions").post("/actions/actions", {"name": "x"})
    assert_error(
        response,
        403,
        message="Insufficient scope, expected any of: create:actions",
        error_code="insufficient_scope",
    )


def test_scope_is_checked_per_method(api_as):
    api = api_as("read:phone_providers")
    assert api.get("/branding/phone/providers").status_code == 200
    assert_error(api.post("/branding/phone/providers", {}), 403, contains="create:phone_providers")


def test_use_records_last_used(make_token):
    token = make_token()
    Api(token).get("/actions/triggers")
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize("path", ["/nope", "/branding/phone/providers/x/y/z", "/actions"])
def test_unknown_routes_are_json_404(api, path):
    assert_error(api.get(path), 404, message="Not Found")


def test_unknown_route_needs_no_token():
    assert_error(Api(None).get("/no/such/thing"), 404)


def test_wrong_method_is_405_with_allow(api):
    response = api.delete("/actions/triggers")
    assert_error(response, 405)
    assert response["Allow"] == "GET"


def test_unsupported_content_type_is_415(api):
    response = api.post("/actions/actions", raw="name=x", content_type="text/plain")
    assert_error(response, 415)


def test_malformed_json_is_400(api):
    response = api.post("/actions/actions", raw="{not json", content_type="application/json")
    assert_error(
        response, 400, message="Invalid request payload JSON format", error_code="invalid_body"
    )


def test_body_must_be_an_object(api):
    response = api.post("/actions/actions", [1, 2])
    assert_error(response, 400, contains="Expected type object", error_code="invalid_body")


def test_bad_query_value_is_400(api):
    response = api.get("/actions/actions", query={"per_page": "lots"})
    assert_error(response, 400, contains="per_page", error_code="invalid_query_string")


def test_rate_limit_headers_on_success(api, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 50
    first = api.get("/actions/triggers")
    second = api.get("/actions/triggers")
    assert first["X-RateLimit-Limit"] == "50"
    assert int(first["X-RateLimit-Remaining"]) == int(second["X-RateLimit-Remaining"]) + 1
    assert int(first["X-RateLimit-Reset"]) > timezone.now().timestamp()


def test_rate_limit_is_429_per_token(api, api_as, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    api.get("/actions/triggers")
    api.get("/actions/triggers")
    response = api.get("/actions/triggers")
    assert_error(response, 429, error_code="too_many_requests")
    assert response["X-RateLimit-Remaining"] == "0"
    assert int(response["Retry-After"]) >= 1
    # Another token has its own budget.
    assert api_as("read:actions").get("/actions/triggers").status_code == 200


def test_unexpected_exception_is_json_500(api, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("phoneprovider.selectors.provider_list", boom)
    assert_error(api.get("/branding/phone/providers"), 500)


def test_form_encoded_body_is_accepted(api, deployed_action):
    body = (
        "name=custom&disabled=false&configuration[delivery_methods][0]=text"
        "&configuration[delivery_methods][1]=voice"
    )
    response = api.post(
        "/branding/phone/providers", raw=body, content_type="application/x-www-form-urlencoded"
    )
    # credentials is required; form encoding cannot express {} so it is reported as missing.
    assert_error(response, 400, contains="credentials")
    response = api.post(
        "/actions/actions",
        raw="name=other&supported_triggers[0][id]=send-phone-message&deploy=false",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201, response.content
    assert response.json()["supported_triggers"] == [{"id": "send-phone-message", "version": "v2"}]


def test_nul_characters_are_refused_before_the_database(api):
    body = {"name": "a\x00b", "supported_triggers": [{"id": "custom-phone-provider"}]}
    assert_error(api.post("/actions/actions", body), 400, contains="NUL")
    message = {"to": "+14155550199", "user": {"nested": ["ok", "bad\x00"]}}
    assert_error(api.post("/phone/messages", message), 400, contains="user.nested[1]")
    assert_error(api.get("/actions/actions", query={"actionName": "%00"}), 400, contains="NUL")


def test_huge_page_is_400_not_a_database_error(api):
    assert_error(api.get("/actions/actions", query={"page": 10**12}), 400, contains="page")


def test_nul_in_an_id_is_404(api):
    assert_error(api.get("/actions/actions/ab%00cd"), 404)


def test_form_keys_that_look_like_digits_are_not_indexes(api):
    response = api.post(
        "/phone/messages",
        raw="to=%2B14155550199&user[%C2%B9]=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 400, contains="provider")


def test_deep_nesting_is_400(api):
    deep = "[" * 100_000 + "]" * 100_000
    assert_error(api.post("/phone/messages", raw=deep, content_type="application/json"), 400)
    nested: dict = {}
    node = nested
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    response = api.post("/phone/messages", {"to": "+14155550199", "user": nested})
    assert_error(response, 400, contains="nest")
    form = "to=%2B1&user" + "[a]" * 50 + "=1"
    response = api.post(
        "/phone/messages", raw=form, content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 400, contains="nest")


def test_too_large_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/phone/messages", {"to": "+14155550199", "code": "1" * 2000})
    assert_error(response, 413)


def test_csrf_checks_never_answer_an_html_403_under_the_api(api):
    """Browsers' CSRF protection does not apply to bearer-token calls, nor to unknown paths."""
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Bearer {api.token}"}
    response = client.post("/api/v2/no/such/thing", "{}", content_type="application/json")
    assert_error(response, 404, message="Not Found")
    response = client.post(
        "/api/v2/branding/phone/templates",
        '{"type": "otp_verify"}',
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "path", ["/api/v1/actions/actions", "/api/", "/api", "/api/v2", "/api/v2/actions/actions/"]
)
@pytest.mark.parametrize("debug", [False, True])
def test_paths_under_api_outside_the_routes_are_json_404(path, debug, settings):
    settings.DEBUG = debug  # DEBUG's technical 404 page is HTML too
    assert_error(Client().get(path), 404)


@pytest.mark.parametrize("method", ["PUT", "OPTIONS"])
def test_unsupported_methods_are_json_405(api, method):
    response = api.request(method, "/branding/phone/providers")
    assert_error(response, 405)
    assert response["Allow"] == "GET, POST"


def test_head_answers_like_get_without_a_body(api):
    response = api.request("HEAD", "/actions/triggers")
    assert response.status_code == 200
    assert response.content == b""


def test_code_errors_name_line_and_column_in_the_message(api):
    broken = "exports.onExecuteCustomPhoneProvider = async (event, api) => {\n  let x = ;\n};\n"
    response = api.post(
        "/actions/actions",
        {
            "name": "broken",
            "supported_triggers": [{"id": "custom-phone-provider"}],
            "code": broken,
            "deploy": True,
        },
    )
    body = assert_error(response, 400)
    assert "line 2" in body["message"] and "column" in body["message"]


def test_rate_limit_counts_in_the_file_cache_too(api, settings, tmp_path):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    from django.core.cache import cache

    assert not hasattr(cache, "incr_expiring")  # the add + incr path
    assert api.get("/actions/triggers")["X-RateLimit-Remaining"] == "1"
    assert api.get("/actions/triggers")["X-RateLimit-Remaining"] == "0"
    assert_error(api.get("/actions/triggers"), 429, error_code="too_many_requests")
