"""Domain events for integrators and live screens (ARCHITECTURE §3: a plain registry, no signals).

Services call ``event_publish`` *inside* the transaction that makes the change. Registered sinks run
right away in that transaction — the outgoing-webhooks app writes its delivery rows there, so a
delivery exists exactly when the change commits — and the live stream is pushed to Redis after the
commit (``live:org:<organization id>`` and ``live:user:<user id>`` channels; skipped without Redis).

Event types: ``booking.created``, ``booking.updated``, ``spot.availability``, ``gate.status``,
``review.created``. Payloads never contain plates or personal data beyond ids.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

EVENT_TYPES: tuple[str, ...] = (
    "booking.created",
    "booking.updated",
    "spot.availability",
    "gate.status",
    "review.created",
)


@dataclass(frozen=True)
class DomainEvent:
    type: str
    data: dict[str, Any]
    organization_id: str | None
    user_ids: tuple[str, ...] = ()
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: timezone.now().isoformat())

    def envelope(self) -> dict[str, Any]:
        """What subscribers receive (webhook body, stream message)."""
        return {"id": self.id, "type": self.type, "created_at": self.created_at, "data": self.data}


Sink = Callable[[DomainEvent], None]
_sinks: list[Sink] = []


def register_event_sink(sink: Sink) -> None:
    if sink not in _sinks:
        _sinks.append(sink)


def event_publish(
    event_type: str, data: dict[str, Any], *, organization_id: Any, user_ids: Iterable[Any] = ()
) -> DomainEvent:
    """Publish an event (call inside the change's transaction)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    event = DomainEvent(
        type=event_type,
        data=data,
        organization_id=str(organization_id) if organization_id else None,
        user_ids=tuple(str(user_id) for user_id in user_ids if user_id),
    )
    for sink in _sinks:
        sink(event)
    transaction.on_commit(lambda: live_push(event))
    return event


def live_channels(event: DomainEvent) -> list[str]:
    channels = [f"live:user:{user_id}" for user_id in event.user_ids]
    if event.organization_id:
        channels.append(f"live:org:{event.organization_id}")
    return channels


def redis_client() -> Any | None:
    """The Redis connection of the default cache, or None (quickstart without Redis)."""
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def live_push(event: DomainEvent) -> None:
    """Publish to the live channels; never fails the caller (live screens catch up on reload)."""
    try:
        client = redis_client()
        if client is None:
            return
        message = json.dumps(event.envelope(), default=str)
        for channel in live_channels(event):
            client.publish(channel, message)
    except Exception:
        logger.warning("events: live push of %s failed", event.type, exc_info=True)
