"""Delivery signatures (the scheme receivers verify; docs/webhooks.md).

Header ``X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
A receiver recomputes the HMAC over the raw body with the endpoint's secret, compares in constant
time, and refuses a timestamp older than its tolerance (5 minutes) to stop replays."""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def signature_verify(*, secret: str, header: str, body: bytes, tolerance: int = 300, now: int | None = None) -> bool:
    """What a receiver does: True when the signature matches and the timestamp is fresh."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((int(time.time()) if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
