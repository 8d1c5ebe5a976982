"""Rendering of the error family (``phoneprovider.errors``) under /api/: every answer that is not
a success is Auth0's error body, never an HTML page. The body itself is shaped by
``ApplicationError.as_body``; here are only the API's validation wordings and the responses."""

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request, page_not_found, server_error

from phoneprovider.errors import ApplicationError, InternalServerError, NotFound

logger = logging.getLogger(__name__)


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


def path_error(message: str, path: str) -> ApplicationError:
    return ApplicationError(
        f"Path validation error: '{message}' on property {path}.", error_code="invalid_uri"
    )


def error_response(exc: ApplicationError) -> JsonResponse:
    response = JsonResponse(exc.as_body(), status=exc.status_code)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def internal_error_response() -> JsonResponse:
    return error_response(InternalServerError("An internal error occurred; it has been logged."))


# Exempt: otherwise a POST to an unknown path would meet the CSRF check's HTML 403 first.
@csrf_exempt
def not_found_view(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """The last route under /api/v2: unknown paths answer Auth0's 404 body."""
    return error_response(NotFound("Not Found"))


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception=None):
    """Root ``handler404``: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return error_response(NotFound("Not Found"))
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
