"""Typed domain errors. Services raise these (or Django's ValidationError), never DRF exceptions;
the API's one exception handler (app/api/exceptions.py) renders them in the standard error shape."""

from http import HTTPStatus


class ApplicationError(Exception):
    """A domain error with a stable machine-readable ``code``.

    ``attr`` names the input field the error is about (or None); ``retry_after`` (seconds) is sent
    as ``Retry-After`` for "busy" answers.
    """

    code: str = "application_error"
    http_status: int = HTTPStatus.BAD_REQUEST
    default_message: str = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        attr: str | None = None,
        http_status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.attr = attr
        self.retry_after = retry_after
        super().__init__(self.message)


class NotFoundError(ApplicationError):
    code = "not_found"
    http_status = HTTPStatus.NOT_FOUND
    default_message = "Not found."


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    http_status = HTTPStatus.FORBIDDEN
    default_message = "You do not have permission to perform this action."


class ConflictError(ApplicationError):
    code = "conflict"
    http_status = HTTPStatus.CONFLICT
    default_message = "The request conflicts with the current state."


class ResourceBusyError(ConflictError):
    """Lock contention: the client should retry shortly (409 + Retry-After)."""

    code = "resource_busy"
    default_message = "The resource is busy; retry shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, retry_after=retry_after)
