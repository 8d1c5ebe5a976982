"""The API's view base: method → authenticate → rate limit → scope → parse → handler → JSON.

Each handler method is declared with ``@operation(...)``: its scope, the schemas of its query and
body, and its success status. The same declarations make the OpenAPI document, so what the API
enforces and what it documents are one thing.
"""

import json
import logging
from dataclasses import dataclass, field

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from phoneprovider.api import auth
from phoneprovider.api.errors import error_response, internal_error_response, query_error
from phoneprovider.api.schemas import COMPONENTS, ref
from phoneprovider.api.validation import check, parse_form
from phoneprovider.config_cache import Snapshot
from phoneprovider.errors import (
    ApplicationError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from phoneprovider.middleware import DATABASE_ERRORS, database_unavailable

logger = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Operation:
    scope: str | None
    summary: str
    tag: str
    body: str | None = None  # a schema name in COMPONENTS
    query: dict = field(default_factory=dict)  # parameter → schema
    path: dict = field(default_factory=dict)  # URL parameter → schema (documented; else string)
    status: int = 200
    response: str | None = None  # a schema name in COMPONENTS; None for no body
    description: str = ""


def operation(scope: str | None, summary: str, *, tag: str, **kwargs):
    def wrap(method):
        method.operation = Operation(scope=scope, summary=summary, tag=tag, **kwargs)
        return method

    return wrap


def respond(data, status: int = 200) -> HttpResponse:
    if status == 204:
        return HttpResponse(status=204)
    return JsonResponse(data, status=status, safe=not isinstance(data, list))


def _parse_body(request: HttpRequest, schema: str) -> dict:
    try:
        raw = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge("Payload content length greater than maximum allowed") from None
    content_type = request.content_type or ""
    if not raw.strip():
        data, coerce = {}, False
    elif content_type == JSON or content_type.endswith("+json"):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ApplicationError(
                "Invalid request payload JSON format", error_code="invalid_body"
            ) from None
        coerce = False
        if data is None:  # some clients send a literal null for "no body"
            data = {}
    elif content_type == FORM:
        try:
            data = parse_form(raw.decode())
        except UnicodeDecodeError:
            raise ApplicationError(
                "Invalid request payload encoding", error_code="invalid_body"
            ) from None
        coerce = True
    else:
        raise UnsupportedMediaType(
            f"Unsupported Media Type: send {JSON} or {FORM}.", error_code="unsupported_media_type"
        )
    return check(data, ref(schema), COMPONENTS, coerce=coerce)


def _parse_query(request: HttpRequest, parameters: dict) -> dict:
    """Known parameters are checked and typed; others are ignored, as most clients add some."""
    query = {}
    for name, schema in parameters.items():
        if name in request.GET:
            query[name] = check(
                request.GET[name], schema, COMPONENTS, path=name, coerce=True, error=query_error
            )
    return query


@method_decorator(csrf_exempt, name="dispatch")
class ApiView(View):
    """Handlers are ``def get(self, request, *, body, query, **url_kwargs) -> HttpResponse``.

    An authenticated handler finds ``self.token``, ``self.actor`` and ``self.config`` (the
    request's configuration ``Snapshot``, which authenticated the token)."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    @classmethod
    def operations(cls) -> dict[str, Operation]:
        found = {}
        for method in ("get", "post", "put", "patch", "delete"):
            handler = getattr(cls, method, None)
            if handler is not None and hasattr(handler, "operation"):
                found[method] = handler.operation
        return found

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        extra_headers: dict[str, str] = {}
        try:
            response = self._handle(request, extra_headers, **kwargs)
        except ApplicationError as exc:
            if exc.status_code == 401:
                extra_headers["WWW-Authenticate"] = 'Bearer realm="api"'
            response = error_response(exc)
        except DATABASE_ERRORS as exc:
            response = error_response(database_unavailable(exc))
        except Exception:
            logger.exception("API error on %s %s", request.method, request.path)
            response = internal_error_response()
        for name, value in extra_headers.items():
            response[name] = value
        return response

    def _handle(self, request: HttpRequest, extra_headers: dict, **kwargs) -> HttpResponse:
        method = request.method.lower()
        if method == "head":
            method = "get"
        operations = self.operations()
        op = operations.get(method)
        if op is None:
            extra_headers["Allow"] = ", ".join(m.upper() for m in operations)
            raise MethodNotAllowed(f"Method {request.method} is not allowed on this path.")
        handler = getattr(self, method)
        if any("\x00" in str(value) for value in kwargs.values()):
            # No stored id contains NUL, and PostgreSQL refuses to even compare with one.
            raise NotFound("Not Found")
        if op.scope is None:  # public documents
            return handler(request, body={}, query={}, **kwargs)
        # One reading of the configuration generation for the whole request: the token and
        # whatever the handler reads through ``self.config`` (a send's provider, template,
        # limits) are checked against it. A change committed meanwhile is seen by the next one.
        self.config = Snapshot()
        token = auth.authenticate(request, self.config)
        extra_headers.update(auth.rate_limit(token))
        auth.require_scope(token, op.scope)
        self.token = token
        self.actor = token.name
        query = _parse_query(request, op.query)
        body = _parse_body(request, op.body) if op.body else {}
        return handler(request, body=body, query=query, **kwargs)
