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
    from datetime import datetime

    from accounts.models import User

    from .models import Booking

BOOKING_CANCELLED = "cancelled"
BOOKING_CHECKED_OUT = "checked_out"
BOOKING_NO_SHOW = "no_show"

Listener = Callable[[str, "Booking", "User | None"], None]
_listeners: list[Listener] = []


def register_booking_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def booking_event_publish(event: str, booking: Booking, actor: User | None) -> None:
    for listener in _listeners:
        listener(event, booking, actor)


# Overstay pricing adjustment (enforcement's penalty policy: daily cap, admin fee). At most one.
OverstayAdjuster = Callable[["Booking", int, "datetime"], int]
_overstay_adjusters: list[OverstayAdjuster] = []


def register_overstay_adjuster(adjuster: OverstayAdjuster) -> None:
    if adjuster not in _overstay_adjusters:
        _overstay_adjusters.append(adjuster)


def overstay_adjust(booking: Booking, amount: int, at: datetime) -> int:
    """``amount`` (the overstay priced by the rate or the rules) after the registered adjusters."""
    for adjuster in _overstay_adjusters:
        amount = adjuster(booking, amount, at)
    return amount
