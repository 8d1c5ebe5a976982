"""One error family for everything people read: the API renders it as Auth0's error body,
the dashboard shows it inline."""


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
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.error_code = error_code
        self.line = line
        self.column = column

    def as_body(self) -> dict:
        body = {"statusCode": self.status_code, "error": self.error, "message": self.message}
        if self.error_code:
            body["errorCode"] = self.error_code
        return body


class ValidationError(ApplicationError):
    pass


class NotFound(ApplicationError):
    status_code = 404
    error = "Not Found"


class Conflict(ApplicationError):
    status_code = 409
    error = "Conflict"


class ServiceUnavailable(ApplicationError):
    status_code = 503
    error = "Service Unavailable"
