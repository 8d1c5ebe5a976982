"""/api/v2/openapi.json and /api/v2/docs describe what the API actually does."""

import pytest

from phoneprovider.api.base import ApiView
from phoneprovider.api.urls import urlpatterns
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_openapi_document_is_public_and_lists_every_operation():
    response = Api(None).get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    operations = {(m, p) for p, ms in document["paths"].items() for m in ms}
    expected = {
        ("get", "/branding/phone/providers"),
        ("post", "/branding/phone/providers"),
        ("get", "/branding/phone/providers/{id}"),
        ("patch", "/branding/phone/providers/{id}"),
        ("delete", "/branding/phone/providers/{id}"),
        ("post", "/branding/phone/providers/{id}/try"),
        ("get", "/branding/phone/templates"),
        ("post", "/branding/phone/templates"),
        ("patch", "/branding/phone/templates/{id}/reset"),
        ("post", "/branding/phone/templates/{id}/try"),
        ("get", "/actions/actions"),
        ("post", "/actions/actions"),
        ("post", "/actions/actions/{id}/deploy"),
        ("post", "/actions/actions/{id}/test"),
        ("get", "/actions/actions/{actionId}/versions/{id}"),
        ("post", "/actions/actions/{actionId}/versions/{id}/deploy"),
        ("get", "/actions/triggers"),
        ("patch", "/actions/triggers/{triggerId}/bindings"),
        ("get", "/actions/executions/{id}"),
        ("post", "/phone/messages"),
        ("get", "/phone/messages/{id}"),
        ("get", "/phone/connections"),
        ("post", "/phone/connections"),
        ("get", "/phone/connections/{id}"),
        ("patch", "/phone/connections/{id}"),
        ("delete", "/phone/connections/{id}"),
        ("post", "/phone/connections/{id}/try"),
        ("get", "/phone/routes"),
        ("post", "/phone/routes"),
        ("get", "/phone/routes/{id}"),
        ("patch", "/phone/routes/{id}"),
        ("delete", "/phone/routes/{id}"),
        ("put", "/phone/routes/order"),
        ("post", "/phone/routes/resolve"),
    }
    assert expected <= operations
    create = document["paths"]["/actions/actions"]["post"]
    assert create["x-required-scopes"] == ["create:actions"]
    assert set(create["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert "201" in create["responses"] and "403" in create["responses"]


def test_every_api_route_is_documented():
    document = Api(None).get("/openapi.json").json()
    routed = sum(
        len(p.callback.view_class.operations())
        for p in urlpatterns
        if issubclass(getattr(p.callback, "view_class", object), ApiView)
    )
    assert routed == sum(len(methods) for methods in document["paths"].values())


def test_every_schema_reference_resolves():
    document = Api(None).get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                assert node["$ref"].rsplit("/", 1)[-1] in schemas, node["$ref"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def test_docs_page_is_plain_html_without_external_assets():
    response = Api(None).get("/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "/api/v2/branding/phone/providers/{id}/try" in html
    assert "create:phone_providers" in html
    assert "http://" not in html and "https://" not in html


def test_routing_is_documented_as_our_extension_with_its_scopes():
    document = Api(None).get("/openapi.json").json()
    routing_paths = {p: ms for p, ms in document["paths"].items() if p.startswith("/phone/")}
    tagged = {
        (method, path)
        for path, methods in routing_paths.items()
        for method, op in methods.items()
        if op["tags"] == ["Phone routing (phoneprovider extension)"]
    }
    assert len(tagged) == 13
    for method, path in tagged:
        op = document["paths"][path][method]
        wanted = "read:phone_routes" if method == "get" else "update:phone_routes"
        if path == "/phone/routes/resolve":
            wanted = "read:phone_routes"  # a question, not a change
        assert op["x-required-scopes"] == [wanted], (method, path)
    schemas = document["components"]["schemas"]
    # Credentials are accepted, never returned.
    assert "credentials" in schemas["CreateConnectionRequest"]["properties"]
    assert "credentials" not in schemas["Connection"]["properties"]
    resolved = schemas["ResolvedRoute"]["properties"]
    assert set(resolved) == {
        "route",
        "connections",
        "default_provider",
        "country",
        "explanation",
        "skipped",
    }
    create_route = document["paths"]["/phone/routes"]["post"]
    assert create_route["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Route"
    }
