"""OpenAPI pieces for the error shape: simplejwt's ``token_not_valid`` belongs to the 401 codes."""

from django.db import models
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers


class ErrorCode401Enum(models.TextChoices):
    AUTHENTICATION_FAILED = "authentication_failed"
    NOT_AUTHENTICATED = "not_authenticated"
    TOKEN_NOT_VALID = "token_not_valid"  # noqa: S105 - an error code, not a secret
    USER_NOT_FOUND = "user_not_found"
    USER_INACTIVE = "user_inactive"
    NO_ACTIVE_ACCOUNT = "no_active_account"


class Error401Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode401Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse401Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error401Serializer(many=True)  # type: ignore[assignment]  # the field shadows Serializer.errors


class ClientErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `last_owner`.")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorType(models.TextChoices):
    VALIDATION_ERROR = "validation_error"
    CLIENT_ERROR = "client_error"


class ClientErrorResponseSerializer(serializers.Serializer):
    """The error shape for errors declared explicitly on an operation (400, 403, 404, 409 …)."""

    type = serializers.ChoiceField(
        choices=ErrorType.choices, help_text="`validation_error` for 400 answers, `client_error` for the other 4xx."
    )
    errors = ClientErrorItemSerializer(many=True)  # type: ignore[assignment]  # the field shadows Serializer.errors
