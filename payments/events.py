"""Payment events for higher apps (the same registry mechanism as ``bookings.events``).

Enforcement subscribes to learn that a fine was paid. A listener runs *inside* the payment's
transaction with the payment row locked, so its writes commit or roll back with the payment. It
returns ``False`` when the money is no longer owed (the fine was waived or cancelled while the driver
was paying): payments then refunds the payment in full, as it does for a booking whose hold expired.
Listeners must not call a provider or send mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Payment

PaymentListener = Callable[["Payment"], bool]
_listeners: dict[str, list[PaymentListener]] = {}


def register_payment_listener(purpose: str, listener: PaymentListener) -> None:
    """Call ``listener(payment)`` when a payment with ``purpose`` succeeds."""
    listeners = _listeners.setdefault(purpose, [])
    if listener not in listeners:
        listeners.append(listener)


def payment_succeeded_publish(payment: Payment) -> bool:
    """True when every listener still wants the money (or there is none)."""
    answers = [listener(payment) for listener in _listeners.get(payment.purpose, [])]  # every listener runs
    return all(answers)
