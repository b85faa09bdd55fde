"""Small helpers every API view uses (one definition, imported by the apps' ``api`` modules)."""

from typing import Any

from rest_framework.request import Request

from accounts.models import User


def request_user(request: Request) -> User:
    """The authenticated user of a view whose permission classes already refused anyone else."""
    assert isinstance(request.user, User)
    return request.user


def validated(serializer_class: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
    """Validate ``data`` with ``serializer_class`` (400 with the field on failure) and return it."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
