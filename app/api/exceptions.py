"""The one exception handler (drf-standardized-errors' format, ARCHITECTURE §8).

Converts domain errors (``ApplicationError``), Django's ``ValidationError`` and database
lock timeouts into DRF exceptions so every error leaves the API in the same shape.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from drf_standardized_errors.handler import ExceptionHandler as BaseExceptionHandler
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from app.exceptions import ApplicationError


def _is_lock_timeout(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "55P03"  # lock_not_available


class ExceptionHandler(BaseExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, ApplicationError):
            return self._from_application_error(exc)
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=_django_validation_detail(exc))
        if isinstance(exc, OperationalError) and _is_lock_timeout(exc):
            busy = exceptions.APIException(detail="The resource is busy; retry shortly.", code="resource_busy")
            busy.status_code = status.HTTP_409_CONFLICT
            busy.wait = 1  # type: ignore[attr-defined]
            return busy
        if isinstance(exc, exceptions.AuthenticationFailed) and isinstance(exc.detail, dict):
            return _flatten_simplejwt_error(exc)
        return super().convert_known_exceptions(exc)

    @staticmethod
    def _from_application_error(error: ApplicationError) -> exceptions.APIException:
        if error.http_status == status.HTTP_400_BAD_REQUEST:
            field = error.attr or api_settings.NON_FIELD_ERRORS_KEY
            return exceptions.ValidationError(detail={field: [exceptions.ErrorDetail(error.message, code=error.code)]})
        exc = exceptions.APIException(detail=error.message, code=error.code)
        exc.status_code = error.http_status
        if error.retry_after:
            exc.wait = error.retry_after  # type: ignore[attr-defined]
        return exc


def _django_validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): [
                exceptions.ErrorDetail(str(message), code=error.code or "invalid")
                for error in errors
                for message in error.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return [exceptions.ErrorDetail(str(m), code=exc.code or "invalid") for m in exc.messages]


def _flatten_simplejwt_error(exc: exceptions.AuthenticationFailed) -> exceptions.AuthenticationFailed:
    """simplejwt puts ``{"detail", "code", "messages": [...]}`` in one error; keep one flat error."""
    detail = exc.detail
    assert isinstance(detail, dict)
    flat = exceptions.AuthenticationFailed(
        detail=str(detail.get("detail", "Authentication failed.")),
        code=str(detail.get("code", "authentication_failed")),
    )
    flat.auth_header = getattr(exc, "auth_header", None)  # type: ignore[attr-defined]
    return flat
