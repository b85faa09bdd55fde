"""JWT authentication that also records the user in the request's log context (app.request_context)."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from app.request_context import user_id_var


class ContextJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            user_id_var.set(str(result[0].pk))
        return result


class ContextJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of ``ContextJWTAuthentication``: the same ``jwtAuth`` bearer scheme."""

    target_class = "app.api.authentication.ContextJWTAuthentication"
    name = "jwtAuth"
