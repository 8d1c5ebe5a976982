"""One error family for everything people read.

Each class carries its HTTP status and reason phrase, and ``as_body`` is the one place that
shapes Auth0's error body ``{statusCode, error, message, errorCode?}``: the API renders it
as is, the dashboard shows ``message`` inline (and ``line`` beside the editor).
"""


class ApplicationError(Exception):
    status_code = 400
    error = "Bad Request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        error_code: str | None = None,
        line: int | None = None,
        column: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.error_code = error_code
        self.line = line
        self.column = column
        # Extra response headers an HTTP interface adds (Retry-After, X-RateLimit-*).
        self.headers = dict(headers or {})

    def as_body(self) -> dict:
        """Auth0's error body. Code and template errors name their position in ``message``,
        since Auth0's body has no field for it and people fix faster when it says where."""
        message = self.message
        if self.line is not None and "line" not in message:
            where = f"line {self.line}"
            if self.column is not None:
                where += f", column {self.column}"
            message = f"{message} ({where})"
        body = {"statusCode": self.status_code, "error": self.error, "message": message}
        if self.error_code:
            body["errorCode"] = self.error_code
        return body


class ValidationError(ApplicationError):
    @staticmethod
    def raise_all(errors: list["ValidationError"]) -> None:
        """Raise every problem found at once: one error as itself, several as
        ``ValidationErrors`` (a form shows each beside its field)."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ValidationErrors(errors)


class ValidationErrors(ValidationError):
    """Several problems of one input. ``message`` joins them (the API shows that); ``errors``
    holds each with its field."""

    def __init__(self, errors: list[ValidationError]):
        super().__init__(
            " ".join(e.message for e in errors),
            field=errors[0].field,
            error_code=next((e.error_code for e in errors if e.error_code), None),
        )
        self.errors = list(errors)


class Unauthorized(ApplicationError):
    status_code = 401
    error = "Unauthorized"


class Forbidden(ApplicationError):
    status_code = 403
    error = "Forbidden"


class NotFound(ApplicationError):
    status_code = 404
    error = "Not Found"


class MethodNotAllowed(ApplicationError):
    status_code = 405
    error = "Method Not Allowed"


class Conflict(ApplicationError):
    status_code = 409
    error = "Conflict"


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


class ServiceUnavailable(ApplicationError):
    status_code = 503
    error = "Service Unavailable"
