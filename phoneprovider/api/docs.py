"""Our own OpenAPI document, generated from the routes and their ``@operation`` declarations,
and a plain HTML page that renders it (no JavaScript, nothing from a CDN)."""

import json
import re

from django.http import HttpResponse
from django.utils.html import escape

from phoneprovider.api.base import ApiView, operation, respond
from phoneprovider.api.schemas import COMPONENTS, ref
from phoneprovider.api.urls import urlpatterns

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_ERRORS = {
    400: "Invalid request (the message says why).",
    401: "Missing, invalid, expired or revoked token.",
    403: "The token lacks the scope.",
    404: "Not found.",
    405: "Method not allowed on this path.",
    409: "Conflict with the existing configuration.",
    413: "Request body too large.",
    415: "Unsupported content type.",
    429: "Rate limit reached; see the X-RateLimit-* headers.",
}
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")


def _routes():
    for pattern in urlpatterns:
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is None or not issubclass(view_class, ApiView):
            continue
        route = "/" + _PARAM.sub(r"{\1}", str(pattern.pattern))
        yield route, _PARAM.findall(str(pattern.pattern)), view_class


def _operation_json(method: str, route: str, params: list[str], op) -> dict:
    name = re.sub(r"[^A-Za-z0-9]+", "_", route).strip("_")
    body: dict = {
        "operationId": f"{method}_{name}",
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        body["description"] = op.description
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": op.path.get(p, {"type": "string"})}
        for p in params
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in op.query.items()
    ]
    if parameters:
        body["parameters"] = parameters
    if op.body:
        body["requestBody"] = {
            "required": bool(
                COMPONENTS[op.body].get("required") or COMPONENTS[op.body].get("minProperties")
            ),
            "content": {t: {"schema": ref(op.body)} for t in _BODY_TYPES},
        }
    success: dict = {"description": "Success."}
    if op.response:
        success["content"] = {"application/json": {"schema": ref(op.response)}}
    responses = {str(op.status): success}
    for code in [] if op.scope is None else _ERRORS:
        responses[str(code)] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    body["responses"] = responses
    if op.scope is None:
        body["security"] = []
    else:
        body["security"] = [{"bearerAuth": []}]
        body["x-required-scopes"] = [op.scope]
    return body


# The string rule the API enforces on all text beyond JSON types, stated in the document so
# that clients and fuzzers know it: no NUL (no database stores it). Phone numbers carry their
# own rules in schemas.py (PHONE_NUMBER), only on the fields that enforce them.
NO_NUL = r"^[^\u0000]*$"


# Free-form JSON (user, request, a test event, properties beyond the named ones) is stored as
# it is, so the same rule holds inside it, at any depth: no NUL in a key or a string.
JSON_VALUE = "JsonValue"
_JSON_VALUE_SCHEMA = {
    "description": "Any JSON value without NUL in its strings or keys.",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": {"$ref": f"#/components/schemas/{JSON_VALUE}"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": f"#/components/schemas/{JSON_VALUE}"},
        },
    ],
}


def _with_text_rules(node):
    """A copy of a schema tree with ``pattern`` on every free-text string and the same rule on
    every free-form object's other keys and values."""
    if isinstance(node, list):
        return [_with_text_rules(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _with_text_rules(value) for key, value in node.items()}
    types = out.get("type")
    is_string = types == "string" or (isinstance(types, list) and "string" in types)
    if is_string and not {"enum", "pattern", "format", "$ref"} & out.keys():
        out["pattern"] = NO_NUL
    if types == "object" and out.get("additionalProperties", True) is True:
        out["propertyNames"] = {"pattern": NO_NUL}
        out["additionalProperties"] = {"$ref": f"#/components/schemas/{JSON_VALUE}"}
    return out


def openapi_document() -> dict:
    paths: dict = {}
    for route, params, view_class in _routes():
        for method, op in view_class.operations().items():
            paths.setdefault(route, {})[method] = _operation_json(method, route, params, op)
    paths = _with_text_rules(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "phoneprovider Management API",
            "version": "2",
            "description": "Wire-compatible with Auth0's Management API v2 for phone providers, "
            "phone templates and Actions, plus a sending API. Authenticate with "
            "`Authorization: Bearer <token>` (create one with `manage.py create_api_token`). "
            "Every error answers {statusCode, error, message, errorCode?}.",
        },
        "servers": [{"url": "/api/v2"}],
        "paths": paths,
        "components": {
            "schemas": {**_with_text_rules(COMPONENTS), JSON_VALUE: _JSON_VALUE_SCHEMA},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


class OpenApiView(ApiView):
    @operation(None, "This OpenAPI document", tag="Documents")
    def get(self, request, *, body, query):
        return respond(openapi_document())


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;
color:#1d2330}
h1{margin-bottom:.2rem} h2{margin-top:2.5rem;border-bottom:1px solid #d8dce4}
.op{border:1px solid #d8dce4;border-radius:6px;margin:.8rem 0;padding:.2rem 1rem}
.op summary{cursor:pointer;padding:.5rem 0} code,pre{font:13px ui-monospace,monospace}
pre{background:#f5f6f8;padding:.6rem;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:ui-monospace,monospace}
.get{color:#1f6feb}.post{color:#1a7f37}.patch{color:#9a6700}.delete{color:#cf222e}
.scope{color:#57606a;font-size:13px;margin-left:.5rem}
"""


def _schema_block(name: str) -> str:
    return f"<pre>{escape(json.dumps({name: COMPONENTS[name]}, indent=2))}</pre>"


def docs_html() -> str:
    document = openapi_document()
    by_tag: dict[str, list[str]] = {}
    for route, methods in document["paths"].items():
        for method, op in methods.items():
            scope = ", ".join(op.get("x-required-scopes", [])) or "public"
            parts = [
                f'<details class="op"><summary><span class="m {method}">{method.upper()}</span>'
                f"<code>/api/v2{escape(route)}</code> — {escape(op['summary'])}"
                f'<span class="scope">{escape(scope)}</span></summary>'
            ]
            if op.get("description"):
                parts.append(f"<p>{escape(op['description'])}</p>")
            query = [p for p in op.get("parameters", []) if p["in"] == "query"]
            if query:
                names = ", ".join(f"<code>{escape(p['name'])}</code>" for p in query)
                parts.append(f"<p>Query: {names}</p>")
            if "requestBody" in op:
                name = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                name = name.rsplit("/", 1)[-1]
                parts.append(f"<p>Body (JSON or form-encoded):</p>{_schema_block(name)}")
            codes = ", ".join(escape(c) for c in op["responses"])
            parts.append(f"<p>Responses: {codes}</p>")
            for code, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and schema:
                    parts.append(_schema_block(schema["$ref"].rsplit("/", 1)[-1]))
            parts.append("</details>")
            by_tag.setdefault(op["tags"][0], []).append("".join(parts))
    sections = "".join(f"<h2>{escape(tag)}</h2>{''.join(items)}" for tag, items in by_tag.items())
    info = document["info"]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(info['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])}</h1><p>{escape(info['description'])}</p>"
        '<p>Machine-readable: <a href="openapi.json">openapi.json</a>. '
        f"Error body:</p>{_schema_block('Error')}{sections}</body></html>"
    )


class DocsView(ApiView):
    @operation(None, "This page", tag="Documents")
    def get(self, request, *, body, query):
        return HttpResponse(docs_html(), content_type="text/html; charset=utf-8")
