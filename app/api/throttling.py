"""Strict throttles for login, registration and password reset: per client IP and per account."""

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class AuthIpThrottle(SimpleRateThrottle):
    scope = "auth_ip"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthAccountThrottle(SimpleRateThrottle):
    """Keys on the email in the request body, so one account can't be hammered from many IPs."""

    scope = "auth_account"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        email = data.get("email")
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()}


AUTH_THROTTLES = [AuthIpThrottle, AuthAccountThrottle]
