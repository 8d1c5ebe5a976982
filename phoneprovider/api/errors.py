"""Every answer under /api/ that is not a success is Auth0's error body:
``{"statusCode", "error", "message", "errorCode"?}`` — never an HTML page."""

import logging

from django.http import HttpRequest, JsonResponse
from django.views.defaults import bad_request, page_not_found, server_error

from phoneprovider.errors import ApplicationError

logger = logging.getLogger(__name__)


class Unauthorized(ApplicationError):
    status_code = 401
    error = "Unauthorized"


class Forbidden(ApplicationError):
    status_code = 403
    error = "Forbidden"


class MethodNotAllowed(ApplicationError):
    status_code = 405
    error = "Method Not Allowed"


class PayloadTooLarge(ApplicationError):
    status_code = 413
    error = "Payload Too Large"


class UnsupportedMediaType(ApplicationError):
    status_code = 415
    error = "Unsupported Media Type"


class TooManyRequests(ApplicationError):
    status_code = 429
    error = "Too Many Requests"


class InternalServerError(ApplicationError):
    status_code = 500
    error = "Internal Server Error"


def payload_error(message: str, path: str = "") -> ApplicationError:
    where = f" on property {path}" if path else ""
    return ApplicationError(
        f"Payload validation error: '{message}'{where}.", error_code="invalid_body"
    )


def query_error(message: str, path: str = "") -> ApplicationError:
    where = f" on property {path}" if path else ""
    return ApplicationError(
        f"Query validation error: '{message}'{where}.", error_code="invalid_query_string"
    )


def body_for(exc: ApplicationError) -> dict:
    body = exc.as_body()
    # Code and template errors carry a position; people fix faster when the message says it.
    if exc.line is not None and "line" not in exc.message:
        where = f"line {exc.line}" + (f", column {exc.column}" if exc.column is not None else "")
        body["message"] = f"{exc.message} ({where})"
    return body


def error_response(exc: ApplicationError, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(body_for(exc), status=exc.status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def internal_error_response() -> JsonResponse:
    return error_response(InternalServerError("An internal error occurred; it has been logged."))


class RouteNotFound(ApplicationError):
    status_code = 404
    error = "Not Found"


def not_found_view(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """The last route under /api/v2: unknown paths answer Auth0's 404 body."""
    return error_response(RouteNotFound("Not Found"))


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception=None):
    """Root ``handler404``: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return error_response(RouteNotFound("Not Found"))
    return page_not_found(request, exception)


def handler400(request: HttpRequest, exception=None):
    """Root ``handler400`` (bad Host header and other suspicious requests): JSON under /api/."""
    if _is_api(request):
        return error_response(ApplicationError("Bad Request"))
    return bad_request(request, exception)


def handler500(request: HttpRequest):
    """Root ``handler500``: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return internal_error_response()
    return server_error(request)
