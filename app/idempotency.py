"""``Idempotency-Key`` for POSTs that create bookings, payments and refunds (ARCHITECTURE §8).

This module holds the model-free half: the header contract, key validation, request fingerprints,
scopes, which answers may be stored, the errors and the OpenAPI pieces. The stored records and the
DRF glue live in the ``idempotency`` app (``idempotency.services``, ``idempotency.decorators``).

Contract (what a client sees):

* A POST may carry ``Idempotency-Key: <1–255 printable ASCII characters>`` (a UUID v4 is best).
  Anything else is a 400 on attr ``Idempotency-Key`` (code ``invalid_idempotency_key``). Without the
  header the endpoint behaves as usual.
* The first request with a key runs the operation. A later request with the same key and the same
  body gets the first answer again: the same status code, the same JSON body (byte for byte) and
  ``Location`` if there was one, plus the header ``Idempotent-Replayed: true``. The operation does not
  run again.
* The same key with a different body is a 422 ``idempotency_key_reused`` (attr null).
* A duplicate that arrives while the first is still running waits (up to ``IDEMPOTENCY_WAIT_SECONDS``,
  default 5 s) and then replays; if the first is still running after the wait it is a 409
  ``idempotency_request_in_progress`` with ``Retry-After: 1``.
* Transient answers — 408, 409, 423, 425, 429 and every 5xx, including an unhandled exception — are
  not stored: the key is released and the same request can be retried with it. Every other answer,
  400/404/422 validation errors included, is stored, so a retried bad request gets the same answer.
  Errors raised before the operation starts (401/403 from authentication and permissions, 429 from
  throttles, a body that is not valid JSON, an invalid key) never touch the key.
* Keys are scoped per caller and per endpoint: the caller is the authenticated user (``user:<id>``) or,
  on endpoints that allow anonymous use, the client IP (``ip:<address>``, see
  ``app.middleware.client_ip``). The endpoint is the HTTP method plus the concrete request path
  (``/api/v1/bookings/42/extend/``), so one key used on two endpoints means two operations. The query
  string is not part of the endpoint or of the fingerprint.
* The fingerprint is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of the parsed body.
* Records expire after ``IDEMPOTENCY_TTL`` (24 h): after that the key is new again.
  ``idempotency.services.idempotency_records_purge`` deletes expired rows.

Settings (all optional, read at call time): ``IDEMPOTENCY_TTL`` (timedelta, 24 h),
``IDEMPOTENCY_WAIT_SECONDS`` (5.0), ``IDEMPOTENCY_POLL_SECONDS`` (0.05) and
``IDEMPOTENCY_LEASE_SECONDS`` (120: an in-progress record older than this is taken to belong to a
crashed worker and may be taken over; it must exceed the longest request, gunicorn's ``--timeout 60``).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError, ConflictError
from app.middleware import client_ip

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Response headers that are part of the stored answer (everything else is per-request).
STORED_RESPONSE_HEADERS = ("Location",)
KEY_MAX_LENGTH = 255
# Printable ASCII: space (0x20) to tilde (0x7E).
_KEY_PATTERN = re.compile(rf"[\x20-\x7e]{{1,{KEY_MAX_LENGTH}}}")

# Answers that say "not now" rather than "this is the result": never stored, so the key can be retried.
TRANSIENT_STATUSES = frozenset(
    {
        HTTPStatus.REQUEST_TIMEOUT,
        HTTPStatus.CONFLICT,
        HTTPStatus.LOCKED,
        HTTPStatus.TOO_EARLY,
        HTTPStatus.TOO_MANY_REQUESTS,
    }
)

# The stored path column holds at most this many UTF-8 bytes; a longer path is stored as its digest.
PATH_MAX_BYTES = 512


# ---------------------------------------------------------------------------- settings


def idempotency_ttl() -> timedelta:
    value = getattr(settings, "IDEMPOTENCY_TTL", timedelta(hours=24))
    assert isinstance(value, timedelta)
    return value


def idempotency_wait_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 5.0))


def idempotency_poll_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_POLL_SECONDS", 0.05))


def idempotency_lease() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "IDEMPOTENCY_LEASE_SECONDS", 120)))


# ---------------------------------------------------------------------------- errors


class IdempotencyKeyInvalidError(ApplicationError):
    code = "invalid_idempotency_key"
    http_status = HTTPStatus.BAD_REQUEST
    default_message = f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {KEY_MAX_LENGTH} printable ASCII characters."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, attr=IDEMPOTENCY_KEY_HEADER)


class IdempotencyKeyReusedError(ApplicationError):
    code = "idempotency_key_reused"
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY
    default_message = f"This {IDEMPOTENCY_KEY_HEADER} was already used with a different request body; use a new key."


class IdempotencyRequestInProgressError(ConflictError):
    code = "idempotency_request_in_progress"
    default_message = f"A request with this {IDEMPOTENCY_KEY_HEADER} is still being processed; retry shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, retry_after=retry_after)


# ---------------------------------------------------------------------------- request → record identity


def validate_key(raw: str) -> str:
    """The key as sent, or ``IdempotencyKeyInvalidError`` (400 on attr ``Idempotency-Key``)."""
    if not _KEY_PATTERN.fullmatch(raw):
        raise IdempotencyKeyInvalidError
    return raw


def _canonical(data: Any) -> Any:
    if isinstance(data, QueryDict):  # form or multipart bodies: keep every value of a repeated field
        return {key: data.getlist(key) for key in data}
    return data


def request_fingerprint(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of a parsed request body: sorted keys, no whitespace.

    ``None`` (no body) and ``{}`` are different bodies. Values JSON cannot carry (uploaded files,
    dates from non-JSON parsers) are fingerprinted by their ``str()``.
    """
    canonical = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_scope(*, user: Any, request: HttpRequest) -> str:
    """Who the key belongs to: ``user:<id>`` for an authenticated user, else ``ip:<client address>``."""
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return f"ip:{client_ip(request) or 'unknown'}"


def endpoint_path(path: str) -> str:
    """The request path as stored: itself, or ``sha256:<hex>`` when longer than the column allows."""
    if len(path.encode()) <= PATH_MAX_BYTES:
        return path
    return "sha256:" + hashlib.sha256(path.encode()).hexdigest()


def is_storable_status(status_code: int) -> bool:
    """Final answers are stored and replayed; transient ones (409, 429, 5xx, …) release the key."""
    return status_code < HTTPStatus.INTERNAL_SERVER_ERROR and status_code not in TRANSIENT_STATUSES


# ---------------------------------------------------------------------------- OpenAPI

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_KEY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the request safe to retry: 1–255 printable ASCII characters, a UUID v4 is best. The same key "
        "with the same body (per user and endpoint, for 24 h) replays the first response with "
        "`Idempotent-Replayed: true` and does not repeat the operation; with a different body it is a 422 "
        "`idempotency_key_reused`; while the first request is still running a duplicate waits up to 5 s, "
        "then gets a 409 `idempotency_request_in_progress` with `Retry-After`. 409, 429 and 5xx answers are "
        "not stored, so the key may be retried after them."
    ),
)

IDEMPOTENCY_REUSED_RESPONSE = OpenApiResponse(
    ClientErrorResponseSerializer,
    description="`idempotency_key_reused`: the Idempotency-Key was already used with a different body.",
    examples=[
        OpenApiExample(
            "idempotency_key_reused",
            value={
                "type": "client_error",
                "errors": [
                    {
                        "code": "idempotency_key_reused",
                        "detail": IdempotencyKeyReusedError.default_message,
                        "attr": None,
                    }
                ],
            },
            response_only=True,
            status_codes=["422"],
        )
    ],
)

IDEMPOTENCY_IN_PROGRESS_RESPONSE = OpenApiResponse(
    ClientErrorResponseSerializer,
    description=(
        "`idempotency_request_in_progress`: a request with the same Idempotency-Key is still running; "
        "retry after `Retry-After` seconds."
    ),
    examples=[
        OpenApiExample(
            "idempotency_request_in_progress",
            value={
                "type": "client_error",
                "errors": [
                    {
                        "code": "idempotency_request_in_progress",
                        "detail": IdempotencyRequestInProgressError.default_message,
                        "attr": None,
                    }
                ],
            },
            response_only=True,
            status_codes=["409"],
        )
    ],
)

# Spread into an operation's responses: ``responses={201: Out, **IDEMPOTENCY_ERROR_RESPONSES}``. An
# operation with a 409 of its own describes both causes in its own ``OpenApiResponse`` instead.
IDEMPOTENCY_ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    409: IDEMPOTENCY_IN_PROGRESS_RESPONSE,
    422: IDEMPOTENCY_REUSED_RESPONSE,
}
