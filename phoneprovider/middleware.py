"""The database being unreachable is an outage, not a bug: 503 with Retry-After, not 500."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

from phoneprovider.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: Exception) -> ServiceUnavailable:
    logger.error("Database unavailable: %s", exc)
    return ServiceUnavailable(
        "The database is unavailable; try again shortly.",
        error_code="database_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class DatabaseUnavailableMiddleware:
    """Pages answer 503 (JSON under /api/) while PostgreSQL is down or refusing connections."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        error = database_unavailable(exception)
        if request.path.startswith("/api/"):
            from phoneprovider.api.errors import error_response

            return error_response(error)
        response = HttpResponse(error.message, status=503, content_type="text/plain")
        for name, value in error.headers.items():
            response[name] = value
        return response
