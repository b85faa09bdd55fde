"""The live event stream (Server-Sent Events) — ``GET /api/v1/events/stream/``.

Events published by the services (``app.events``) are pushed to Redis channels after commit; every
stream subscribes to the channels its user may see: ``live:user:<own id>`` (their bookings) and
``live:org:<id>`` for each organization they are a member of (staff, managers, owners). Several app
processes work together through Redis pub/sub. A stream lasts ``LIVE_STREAM_SECONDS`` and then ends;
browsers' EventSource reconnects by itself (``retry: 3000``).

Authentication: the usual JWT header, the back-office session (the admin dashboard), or — since
EventSource cannot send headers — ``?token=`` from ``POST /api/v1/events/stream-token/`` (signed,
valid 60 seconds). Without Redis (the quickstart) the stream answers 503 ``live_events_unavailable``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core import signing

from accounts.models import Membership, User

from .events import redis_client

TOKEN_SALT = "live-stream"  # noqa: S105 - a signing salt, not a secret
TOKEN_MAX_AGE = 60
HEARTBEAT_SECONDS = 15


def stream_token_issue(user: User) -> str:
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(str(user.pk))


def stream_token_user(token: str) -> User | None:
    try:
        user_id = signing.TimestampSigner(salt=TOKEN_SALT).unsign(token, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def channels_for(user: User) -> list[str]:
    organizations = Membership.objects.filter(user=user).values_list("organization_id", flat=True)
    return [f"live:user:{user.pk}", *(f"live:org:{organization_id}" for organization_id in organizations)]


def stream(user: User, *, max_seconds: float | None = None) -> Iterator[bytes] | None:
    """The SSE byte stream for ``user`` (subscribed before the first chunk), or None without Redis."""
    client = redis_client()
    if client is None:
        return None
    pubsub = client.pubsub()
    pubsub.subscribe(*channels_for(user))
    limit = settings.LIVE_STREAM_SECONDS if max_seconds is None else max_seconds
    return _events(pubsub, limit)


def _events(pubsub: Any, limit: float) -> Iterator[bytes]:
    deadline = time.monotonic() + limit
    last_beat = time.monotonic()
    try:
        yield b"retry: 3000\n\n"
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1.0)
            if message is None:
                if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                    last_beat = time.monotonic()
                    yield b": keepalive\n\n"
            elif message["type"] == "message":
                yield _frame(message)
        # What arrived before the end is still delivered (None: nothing more is waiting).
        while (message := pubsub.get_message(timeout=0)) is not None:
            if message["type"] == "message":
                yield _frame(message)
    finally:
        pubsub.close()


def _frame(message: dict[str, Any]) -> bytes:
    event = json.loads(message["data"])
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
