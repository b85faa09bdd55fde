"""Verification of the signed offline snapshot before anything of it is trusted.

The platform signs ``data`` with Ed25519 over its canonical JSON (``gates.snapshot.canonical``: sorted
keys, ``,``/``:`` separators, UTF-8, non-ASCII kept). The agent accepts a snapshot only when:

1. its ``kid`` is one of the keys pinned on this box (pinned on first start from
   ``/api/v1/bookings/credential-keys/``, plus keys later published inside a verified snapshot), and
   the signature verifies over the canonical JSON;
2. it is for this gate and facility (once known) — a validly signed snapshot of another gate is refused;
3. it is not older than the one held (``version`` never goes back, so an old snapshot cannot be
   replayed to bring back a cancelled booking), an incremental one continues exactly the held
   version (``since``), and it is not already past its ``valid_until``.

Anything else raises ``SnapshotRejected`` and the held snapshot stays as it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bookings.credentials import b64url_decode, public_keys_from_jwks


class SnapshotRejected(Exception):
    """``code``: ``malformed``, ``unknown_kid``, ``bad_signature``, ``wrong_gate``, ``rollback``,
    ``not_continuous``, ``expired``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def canonical(data: Mapping[str, Any]) -> bytes:
    """The signed bytes: the same serialisation as ``gates.snapshot.canonical`` on the server."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_time(value: object) -> datetime:
    """An aware datetime from the snapshot's ISO 8601 text (``SnapshotRejected`` otherwise)."""
    if not isinstance(value, str):
        raise SnapshotRejected("malformed", "a time is not a string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SnapshotRejected("malformed", f"bad time {value!r}") from None
    if moment.tzinfo is None:
        raise SnapshotRejected("malformed", f"time without offset {value!r}")
    return moment


@dataclass(frozen=True)
class Held:
    """What the agent holds now (to check continuity); ``None`` fields before the first snapshot."""

    version: int | None = None
    gate: int | None = None
    facility: int | None = None


_BOOKING_FIELDS = ("reference", "kind", "status", "plate_index", "entry_from", "start", "end")


def _check_shape(data: Mapping[str, Any]) -> None:
    for name in ("version", "facility", "gate"):
        if not isinstance(data.get(name), int) or isinstance(data.get(name), bool):
            raise SnapshotRejected("malformed", f"{name!r} is not an integer")
    for name in ("bookings", "removed", "passes"):
        if not isinstance(data.get(name), list):
            raise SnapshotRejected("malformed", f"{name!r} is not a list")
    if not isinstance(data.get("credential_keys"), Mapping):
        raise SnapshotRejected("malformed", "'credential_keys' is not a JWK set")
    for row in data["bookings"]:
        if not isinstance(row, Mapping) or not all(isinstance(row.get(name), str) for name in _BOOKING_FIELDS):
            raise SnapshotRejected("malformed", "a booking row is incomplete")
        for name in ("entry_from", "start", "end"):
            parse_time(row[name])
    if not all(isinstance(reference, str) for reference in data["removed"]):
        raise SnapshotRejected("malformed", "'removed' holds a non-string")
    for row in data["passes"]:
        if (
            not isinstance(row, Mapping)
            or not isinstance(row.get("id"), int)
            or not isinstance(row.get("plate_indexes"), list)
            or not all(isinstance(day, int) for day in row.get("weekdays") or [])
        ):
            raise SnapshotRejected("malformed", "a pass row is incomplete")
        parse_time(row.get("valid_from"))
        parse_time(row.get("valid_until"))
        for name in ("start_time", "end_time"):
            if row.get(name) is not None:
                try:
                    time.fromisoformat(str(row[name]))
                except ValueError:
                    raise SnapshotRejected("malformed", f"bad {name} {row[name]!r}") from None
    parse_time(data.get("valid_until"))
    try:
        public_keys_from_jwks(data["credential_keys"])
    except ValueError as exc:  # CredentialKeyError
        raise SnapshotRejected("malformed", f"credential_keys: {exc}") from None


def snapshot_verify(
    document: object, *, pinned: Mapping[str, Ed25519PublicKey], held: Held, now: datetime
) -> dict[str, Any]:
    """The verified ``data`` of a snapshot answer ``{data, kid, signature}``, or ``SnapshotRejected``."""
    if not isinstance(document, Mapping):
        raise SnapshotRejected("malformed", "not an object")
    data, kid, signature = document.get("data"), document.get("kid"), document.get("signature")
    if not isinstance(data, dict) or not isinstance(kid, str) or not isinstance(signature, str):
        raise SnapshotRejected("malformed", "expected {data, kid, signature}")
    key = pinned.get(kid)
    if key is None:
        raise SnapshotRejected("unknown_kid", f"signed by {kid!r}, which is not pinned")
    try:
        key.verify(b64url_decode(signature), canonical(data))
    except (ValueError, InvalidSignature):
        raise SnapshotRejected("bad_signature", "the signature does not verify") from None
    _check_shape(data)
    if held.gate is not None and data["gate"] != held.gate:
        raise SnapshotRejected("wrong_gate", f"for gate {data['gate']}, this is gate {held.gate}")
    if held.facility is not None and data["facility"] != held.facility:
        raise SnapshotRejected("wrong_gate", f"for facility {data['facility']}, this gate is at {held.facility}")
    if held.version is not None and data["version"] < held.version:
        raise SnapshotRejected("rollback", f"version {data['version']} is older than the held {held.version}")
    if not data.get("full") and (held.version is None or data.get("since") != held.version):
        raise SnapshotRejected("not_continuous", f"changes since {data.get('since')}, held {held.version}")
    if parse_time(data["valid_until"]) <= now:
        raise SnapshotRejected("expired", f"valid until {data['valid_until']}")
    return data
