"""Booking events for higher apps (docs/decisions.md: registries filled in ``ready()``).

Payments subscribes to refund cancellations and settle check-outs. Listeners run *inside* the
booking's transaction, with the booking row locked, so whatever they write (refund rows to execute
later, payment requests) commits or rolls back with the booking change. They must not call a
provider or send mail: they queue that work for after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User

    from .models import Booking

BOOKING_CANCELLED = "cancelled"
BOOKING_CHECKED_OUT = "checked_out"

Listener = Callable[[str, "Booking", "User | None"], None]
_listeners: list[Listener] = []


def register_booking_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def booking_event_publish(event: str, booking: Booking, actor: User | None) -> None:
    for listener in _listeners:
        listener(event, booking, actor)
