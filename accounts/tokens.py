"""JWT issue, rotation and revocation (services).

simplejwt's stock refresh is not atomic: it checks the blacklist, then ``get_or_create``s the
blacklist row, so N concurrent refreshes of one token can all succeed. Here the refresh locks the
token's ``OutstandingToken`` row (``SELECT … FOR UPDATE``) before checking, so exactly one
concurrent caller rotates it. Every token carries a ``family`` claim set at login; presenting a
token that was already rotated (a replay, or a thief racing the owner) revokes the whole family.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from .audit import audit_log_record
from .exceptions import InvalidCredentialsError, TokenRefusedError
from .models import AuditAction, RefreshTokenFamily, User

FAMILY_CLAIM = "family"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _issue(*, user: User, family: uuid.UUID) -> TokenPair:
    """Create a refresh token in ``family`` (recorded as outstanding) and its access token."""
    refresh = RefreshToken.for_user(user)  # records the OutstandingToken row
    refresh[FAMILY_CLAIM] = str(family)
    RefreshTokenFamily.objects.create(jti=refresh[jwt_settings.JTI_CLAIM], family=family, user=user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def auth_login(*, email: str, password: str) -> TokenPair:
    """Check credentials and start a new token family. Failed attempts are audited."""
    user = authenticate(email=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        known = User.objects.filter(email__iexact=email.strip()).first()
        audit_log_record(
            action=AuditAction.LOGIN_FAILED,
            actor=known,
            actor_email=email.strip().lower()[:254],
        )
        raise InvalidCredentialsError(code="no_active_account")
    assert isinstance(user, User)
    with transaction.atomic():
        pair = _issue(user=user, family=uuid.uuid4())
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return pair


def _decode(raw: str) -> RefreshToken:
    """Verify signature, expiry and type (not the blacklist: the caller does that under a lock)."""
    try:
        # The backend checks signature and expiry; RefreshToken(verify=False) then only wraps the
        # payload, skipping simplejwt's non-atomic blacklist check.
        token_backend.decode(raw, verify=True)  # type: ignore[arg-type]
        token = RefreshToken(raw, verify=False)  # type: ignore[arg-type]
    except (TokenError, TokenBackendError) as exc:
        raise TokenRefusedError() from exc
    if token.get(jwt_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        raise TokenRefusedError()
    return token


def _lock_outstanding(jti: str) -> OutstandingToken | None:
    # order_by(): the model orders by user, and FOR UPDATE must not reach into that join.
    return OutstandingToken.objects.select_for_update(of=("self",)).order_by().filter(jti=jti).first()


def _revoke_family(family: str) -> int:
    """Blacklist every token of the family that is not blacklisted yet. Returns how many."""
    jtis = RefreshTokenFamily.objects.filter(family=family).values_list("jti", flat=True)
    live = OutstandingToken.objects.filter(jti__in=jtis, blacklistedtoken__isnull=True)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(created)


# Test hook: called after the blacklist check while the row lock is held, so a test can widen
# the race window deterministically. Never set outside tests.
after_refresh_check_hook: Any = None


def auth_refresh(*, refresh: str) -> TokenPair:
    """Rotate a refresh token: exactly one caller wins for a given token.

    Raises TokenRefusedError (401) for an invalid, expired, unknown, blacklisted or reused token;
    on reuse the whole family is revoked first.
    """
    token = _decode(refresh)
    jti = token[jwt_settings.JTI_CLAIM]
    family = token.get(FAMILY_CLAIM)
    reused = False
    with transaction.atomic():
        outstanding = _lock_outstanding(jti)
        if outstanding is None or outstanding.user_id is None:
            raise TokenRefusedError()
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            reused = True
            revoked = _revoke_family(family) if family else 0
            audit_log_record(
                action=AuditAction.REFRESH_TOKEN_REUSE,
                actor=User.objects.filter(pk=outstanding.user_id).first(),
                data={"family": family, "revoked": revoked},
            )
        else:
            if after_refresh_check_hook is not None:
                after_refresh_check_hook()
            user = User.objects.filter(pk=outstanding.user_id, is_active=True).first()
            if user is None:
                raise TokenRefusedError()
            BlacklistedToken.objects.create(token=outstanding)
            pair = _issue(user=user, family=uuid.UUID(family) if family else uuid.uuid4())
    if reused:
        # Raised after commit so the family revocation and its audit row are kept.
        raise TokenRefusedError("Token has already been used; its session has been revoked.")
    return pair


def auth_logout(*, refresh: str) -> None:
    """Blacklist the presented refresh token (idempotent for an already-blacklisted token)."""
    token = _decode(refresh)
    with transaction.atomic():
        outstanding = _lock_outstanding(token[jwt_settings.JTI_CLAIM])
        if outstanding is None:
            raise TokenRefusedError()
        BlacklistedToken.objects.get_or_create(token=outstanding)


def user_tokens_revoke(*, user: User) -> int:
    """Blacklist every live refresh token of ``user`` (after a password change or reset)."""
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    return len(BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True))
