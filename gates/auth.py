"""Device authentication: ``Authorization: Gate <key>``.

A key is ``gk_<prefix>_<secret>``; the prefix finds the row (indexed), the SHA-256 of the whole key is
compared in constant time. Device endpoints accept only this scheme (user JWTs are refused there), and
user endpoints never accept it (their authenticators do not know the scheme, so a device key is 401).
A hash rather than a slow KDF is enough: the secret is 256 random bits, not a password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import Gate, GateKey

SCHEME = "Gate"


LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_generate() -> tuple[str, str]:
    """A new key and its prefix: ``gk_<prefix>_<secret>``."""
    prefix = secrets.token_hex(6)
    return f"gk_{prefix}_{secrets.token_urlsafe(32)}", prefix


@dataclass(frozen=True)
class GateDevice:
    """The authenticated principal of a device request (``request.user``)."""

    gate: Gate
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None


class GateKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[GateDevice, GateKey] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != SCHEME.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid gate key header.", code="invalid_gate_key")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid gate key.", code="invalid_gate_key") from exc
        parts = key.split("_", 2)  # the secret (urlsafe base64) may itself contain "_"
        if len(parts) != 3 or parts[0] != "gk":
            raise exceptions.AuthenticationFailed("Invalid gate key.", code="invalid_gate_key")
        row = GateKey.objects.select_related("gate__facility").filter(prefix=parts[1], revoked_at__isnull=True).first()
        if row is None or not hmac.compare_digest(row.key_hash, key_hash(key)):
            raise exceptions.AuthenticationFailed("Invalid gate key.", code="invalid_gate_key")
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            # At most one write a minute per key: a busy lane decides many times a minute, and
            # "last used" only needs to tell a live key from a stale one.
            GateKey.objects.filter(pk=row.pk).update(last_used_at=now)
        return GateDevice(gate=row.gate), row

    def authenticate_header(self, request: Request) -> str:
        return SCHEME


class IsGateDevice(BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, GateDevice)


class GateThrottle(SimpleRateThrottle):
    """Per device; generous (gates poll every few seconds and burst at rush hour)."""

    scope = "gate"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.user, GateDevice):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.gate.pk}
