"""Signed gate credentials for bookings: Ed25519, verifiable offline by a gate.

Format (version 1)::

    PK1.<claims>.<signature>

- ``claims`` is base64url (RFC 4648 §5, no padding) of compact UTF-8 JSON::

      {"v":1,"kid":"9f2c…","ref":"PKM-…","fac":12,"spot":"A-1","nbf":1767250800,"exp":1767266100,"iat":1767200000}

  ``fac`` is the facility id, ``spot`` the spot code, ``nbf``/``exp``/``iat`` are Unix seconds (UTC).
  The credential is valid for ``nbf <= now < exp`` where ``nbf`` = booking start minus the facility's
  ``early_checkin_minutes`` (when check-in opens) and ``exp`` = booking end plus the facility's
  ``overstay_grace_minutes`` (so the same credential also opens the exit barrier until the overstay
  charge starts; later exits are an online decision).
- ``signature`` is base64url of the 64-byte Ed25519 signature of the exact ASCII bytes of the
  ``claims`` segment (not of the re-serialised JSON), so a verifier never re-encodes anything.
- ``kid`` names the signing key: the first 8 bytes of SHA-256 of the raw 32-byte public key, as
  16 lowercase hex characters. Public keys are published as JWKs (``kty`` ``OKP``, ``crv``
  ``Ed25519``, ``x`` = base64url raw public key) at ``GET /api/v1/bookings/credential-keys/``.

Signing keys (``CREDENTIAL_SIGNING_KEYS``) are Ed25519 private keys given as base64url of the raw
32-byte seed (padding optional), comma separated: the first signs, every one is published (rotation).
Any 32 random bytes are a valid seed: ``python3 -c "import secrets; print(secrets.token_urlsafe(32))"``.

Everything above the "Django glue" section uses only the standard library and ``cryptography``, so
the offline gate agent can import this module without Django: build the public keys with
``public_keys_from_jwks`` and check scans with ``credential_verify``. The glue at the bottom imports
Django lazily (inside the functions) for the server side: keys from settings and issuing for a
``Booking``. Credentials are not stored: they are derived from the booking on each request, so a
driver fetches a fresh one after an extension.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, TypedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from bookings.models import Booking

PREFIX: Final = "PK1"
VERSION: Final = 1
ALGORITHM: Final = "EdDSA"
CURVE: Final = "Ed25519"
#: Longest payload a verifier looks at (a real one is about 250 characters): bounds the work done on
#: unauthenticated input.
MAX_PAYLOAD_LENGTH: Final = 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_KID = re.compile(r"[0-9a-f]{16}")
_SIGNATURE_BYTES: Final = 64
_SEED_BYTES: Final = 32


# ---------------------------------------------------------------------------------------- errors
class CredentialError(Exception):
    """A credential that must not open the gate. ``code`` is one of ``CredentialError.CODES``."""

    BAD_SIGNATURE: Final = "bad_signature"
    UNKNOWN_KEY: Final = "unknown_key"
    MALFORMED: Final = "malformed"
    NOT_YET_VALID: Final = "not_yet_valid"
    EXPIRED: Final = "expired"
    CODES: Final = frozenset({BAD_SIGNATURE, UNKNOWN_KEY, MALFORMED, NOT_YET_VALID, EXPIRED})

    def __init__(self, code: str, message: str) -> None:
        assert code in self.CODES, code
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class CredentialKeyError(ValueError):
    """A configured or published key is unusable. The message never contains key material."""


# ---------------------------------------------------------------------------------------- base64url
def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5, as in JOSE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of ``b64url_encode``: only the URL-safe alphabet, no padding, canonical.

    Canonical means re-encoding gives the same text, so no two spellings of one signature exist
    (base64 would otherwise ignore the unused low bits of the last character).
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


# ---------------------------------------------------------------------------------------- keys
def public_key_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 8 bytes of SHA-256 of the raw 32-byte public key, as 16 lowercase hex characters."""
    return hashlib.sha256(public_key_raw(public_key)).digest()[:8].hex()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def __repr__(self) -> str:  # never show key material
        return f"SigningKey(kid={self.kid!r})"


def signing_key_from_seed(seed: str) -> SigningKey:
    """An Ed25519 key from base64url of its raw 32-byte seed (trailing ``=`` padding allowed)."""
    text = seed.strip().rstrip("=")
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise CredentialKeyError("is not base64url") from None
    if len(raw) != _SEED_BYTES:
        raise CredentialKeyError(f"must be {_SEED_BYTES} bytes (43 base64url characters), got {len(raw)} bytes")
    private_key = Ed25519PrivateKey.from_private_bytes(raw)
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


def parse_signing_keys(values: Iterable[str]) -> tuple[SigningKey, ...]:
    """Parse the configured seeds in order (the first signs). At least one; no duplicates; blanks skipped."""
    keys: list[SigningKey] = []
    for position, value in enumerate(value for value in values if value.strip()):
        try:
            key = signing_key_from_seed(value)
        except CredentialKeyError as exc:
            raise CredentialKeyError(f"key #{position + 1} {exc}") from None
        if any(existing.kid == key.kid for existing in keys):
            raise CredentialKeyError(f"key #{position + 1} repeats an earlier key")
        keys.append(key)
    if not keys:
        raise CredentialKeyError("no key is configured")
    return tuple(keys)


def generate_seed() -> str:
    """A fresh signing key seed in the configured format."""
    return b64url_encode(Ed25519PrivateKey.generate().private_bytes_raw())


def public_jwks(keys: Iterable[SigningKey]) -> dict[str, list[dict[str, str]]]:
    """The public halves as a JWK set (RFC 8037 ``OKP`` keys), signing key first."""
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": CURVE,
                "alg": ALGORITHM,
                "use": "sig",
                "kid": key.kid,
                "x": b64url_encode(public_key_raw(key.public_key)),
            }
            for key in keys
        ]
    }


def public_keys_from_jwks(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """``{kid: public key}`` from a JWK set as published by ``public_jwks``.

    The ``kid`` is recomputed from ``x`` and must match, so a wrong or swapped ``kid`` in the
    document cannot make a key verify credentials it did not sign. Keys of other types are skipped.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise CredentialKeyError("the document has no 'keys' list")
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != CURVE:
            continue
        try:
            raw = b64url_decode(str(entry.get("x", "")))
        except ValueError:
            raise CredentialKeyError("a published key's 'x' is not base64url") from None
        if len(raw) != _SEED_BYTES:
            raise CredentialKeyError("a published key's 'x' is not 32 bytes")
        public_key = Ed25519PublicKey.from_public_bytes(raw)
        kid = key_id(public_key)
        if entry.get("kid") != kid:
            raise CredentialKeyError(f"published kid {entry.get('kid')!r} does not match its key ({kid})")
        keys[kid] = public_key
    return keys


# ---------------------------------------------------------------------------------------- sign
class Claims(TypedDict):
    v: int
    kid: str
    ref: str
    fac: int
    spot: str
    nbf: int
    exp: int
    iat: int


@dataclass(frozen=True)
class Credential:
    payload: str
    kid: str
    not_before: datetime
    expires_at: datetime


def _unix(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return int(moment.timestamp())


def credential_build(
    *,
    reference: str,
    facility_id: int,
    spot_code: str,
    not_before: datetime,
    expires_at: datetime,
    issued_at: datetime,
    key: SigningKey,
) -> Credential:
    """Sign a credential valid for ``[not_before, expires_at)`` (aware datetimes, whole seconds kept)."""
    claims: Claims = {
        "v": VERSION,
        "kid": key.kid,
        "ref": reference,
        "fac": facility_id,
        "spot": spot_code,
        "nbf": _unix(not_before),
        "exp": _unix(expires_at),
        "iat": _unix(issued_at),
    }
    if claims["nbf"] >= claims["exp"]:
        raise ValueError("not_before must be before expires_at")
    body = b64url_encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signature = key.private_key.sign(body.encode("ascii"))
    return Credential(
        payload=f"{PREFIX}.{body}.{b64url_encode(signature)}",
        kid=key.kid,
        not_before=datetime.fromtimestamp(claims["nbf"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


# ---------------------------------------------------------------------------------------- verify
def _verifies(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_claims(document: dict[str, Any]) -> Claims:
    """The claims of a correctly signed credential, or ``malformed`` if they are not version 1."""
    ints = ("v", "fac", "nbf", "exp", "iat")
    strings = ("kid", "ref", "spot")
    if not all(_is_int(document.get(name)) for name in ints) or not all(
        isinstance(document.get(name), str) for name in strings
    ):
        raise CredentialError(CredentialError.MALFORMED, "Missing or mistyped claims.")
    if document["v"] != VERSION:
        raise CredentialError(CredentialError.MALFORMED, f"Unsupported credential version {document['v']}.")
    return {
        "v": document["v"],
        "kid": document["kid"],
        "ref": document["ref"],
        "fac": document["fac"],
        "spot": document["spot"],
        "nbf": document["nbf"],
        "exp": document["exp"],
        "iat": document["iat"],
    }


def credential_verify(
    payload: str,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    *,
    leeway_seconds: int = 0,
) -> Claims:
    """Check a scanned credential offline; return its claims or raise ``CredentialError``.

    ``public_keys`` maps kid → key (``public_keys_from_jwks``); ``now`` is an aware datetime (the
    gate's clock); ``leeway_seconds`` widens ``[nbf, exp)`` on both sides for clock drift.

    Order: structure (``malformed``), key id (``unknown_key``), signature (``bad_signature``), then
    the claims (``malformed``) and the window (``not_yet_valid`` / ``expired``). Nothing unsigned is
    trusted: a claims segment whose key id cannot be read is ``bad_signature`` unless one of the
    published keys signed it. A valid credential only proves what the server issued; whether the
    booking is still active (not cancelled since) is for the gate's synced booking list.
    """
    now_unix = _unix(now)
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise CredentialError(CredentialError.MALFORMED, "The payload is too long.")
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise CredentialError(CredentialError.MALFORMED, f"Not a {PREFIX} credential.")
    body, signature_text = parts[1], parts[2]
    try:
        body_bytes = b64url_decode(body)
        signature = b64url_decode(signature_text)
    except ValueError:
        raise CredentialError(CredentialError.MALFORMED, "A segment is not base64url.") from None
    if len(signature) != _SIGNATURE_BYTES:
        raise CredentialError(CredentialError.MALFORMED, "The signature has the wrong length.")

    signed = body.encode("ascii")
    document = _json_object(body_bytes)
    kid = document.get("kid") if document is not None else None
    if isinstance(kid, str) and _KID.fullmatch(kid):
        public_key = public_keys.get(kid)
        if public_key is None:
            raise CredentialError(CredentialError.UNKNOWN_KEY, f"No published key has kid {kid!r}.")
        if not _verifies(public_key, signature, signed):
            raise CredentialError(CredentialError.BAD_SIGNATURE, "The signature does not match.")
    elif any(_verifies(key, signature, signed) for key in public_keys.values()):
        raise CredentialError(CredentialError.MALFORMED, "Signed, but the claims are unreadable.")
    else:
        raise CredentialError(CredentialError.BAD_SIGNATURE, "The signature does not match.")

    assert document is not None  # a readable kid means the document parsed
    claims = _checked_claims(document)
    if now_unix < claims["nbf"] - leeway_seconds:
        raise CredentialError(CredentialError.NOT_YET_VALID, "The credential is not valid yet.")
    if now_unix >= claims["exp"] + leeway_seconds:
        raise CredentialError(CredentialError.EXPIRED, "The credential has expired.")
    return claims


# ---------------------------------------------------------------------------------------- Django glue
# Imports of Django and the project happen inside these functions so that the part above stays
# importable by the offline gate agent.


@lru_cache(maxsize=8)
def _parse_cached(values: tuple[str, ...]) -> tuple[SigningKey, ...]:
    return parse_signing_keys(values)


def signing_keys_from_settings() -> Sequence[SigningKey]:
    """``settings.CREDENTIAL_SIGNING_KEYS`` parsed (first signs); ImproperlyConfigured if unusable."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    configured = getattr(settings, "CREDENTIAL_SIGNING_KEYS", None) or ()
    if isinstance(configured, str):
        configured = configured.split(",")
    try:
        return _parse_cached(tuple(configured))
    except CredentialKeyError as exc:
        raise ImproperlyConfigured(
            f"CREDENTIAL_SIGNING_KEYS: {exc}. Set it to base64url Ed25519 seeds (32 bytes each), comma separated."
        ) from None


def credential_issue(booking: Booking, *, now: datetime | None = None) -> Credential:
    """Sign a gate credential for a confirmed or checked-in booking (409 ``credential_unavailable`` otherwise).

    Valid from the start minus the facility's early check-in minutes until the end plus its
    overstay grace minutes; signed with the first configured key. Reads ``booking.facility`` and
    ``booking.spot`` (select them with the booking).
    """
    from django.utils import timezone

    from app.exceptions import ConflictError
    from bookings.models import BookingStatus

    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
        raise ConflictError(
            "A gate credential is available only for confirmed or checked-in bookings.",
            code="credential_unavailable",
        )
    facility = booking.facility
    return credential_build(
        reference=booking.reference,
        facility_id=facility.pk,
        spot_code=booking.spot.code,
        not_before=booking.start - timedelta(minutes=facility.early_checkin_minutes),
        expires_at=booking.end + timedelta(minutes=facility.overstay_grace_minutes),
        issued_at=now or timezone.now(),
        key=signing_keys_from_settings()[0],
    )
