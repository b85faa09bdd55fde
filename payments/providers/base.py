"""The provider interface (pretix/Saleor style): every payment provider implements this class and
is registered by name in ``settings.PAYMENT_PROVIDERS``.

Providers talk to the outside world only; they never touch the database or hold a lock. The services
(payments/services.py) commit first, call the provider, then lock again to record the result
(ARCHITECTURE §6). Every mutating call carries an idempotency key derived from our own row id, so a
retry after a timeout can never charge, refund or transfer twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from app.exceptions import ApplicationError

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment, Payout, Refund


class ProviderNotConfiguredError(ApplicationError):
    """The provider exists but its keys are not set (or it is disabled here)."""

    code = "provider_not_configured"
    http_status = HTTPStatus.BAD_REQUEST


class ProviderUnavailableError(ApplicationError):
    """The provider could not be reached or answered with a server error; try again later."""

    code = "provider_unavailable"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class ProviderDeclinedError(ApplicationError):
    """The provider refused the operation (card declined, refund refused…); ``detail`` says why."""

    code = "provider_declined"
    http_status = HTTPStatus.PAYMENT_REQUIRED


class WebhookSignatureError(Exception):
    """A webhook whose signature, timestamp, headers or body cannot be trusted (answered 400)."""


def webhook_header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup; two different values under different spellings are refused."""
    wanted = name.lower()
    values: set[str] = set()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            if not isinstance(value, str):
                raise WebhookSignatureError(f"Malformed {name} header.")
            values.add(value)
    if len(values) > 1:
        raise WebhookSignatureError(f"Conflicting {name} headers.")
    return values.pop() if values else None


@dataclass(frozen=True)
class Checkout:
    """What ``create_payment`` returns: the provider's id and what the client SDK needs."""

    provider_payment_id: str
    client_data: dict[str, Any]
    status: str  # a PaymentStatus value


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider sees it now (a fetch, a webhook, a verify call)."""

    provider_payment_id: str
    status: str | None  # a PaymentStatus value, or None when the event says nothing about the status
    failure_reason: str = ""
    card_brand: str = ""
    card_last4: str = ""
    amount: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ProviderRefund:
    provider_refund_id: str
    status: str  # a RefundStatus value: pending, succeeded or failed
    failure_reason: str = ""


@dataclass(frozen=True)
class WebhookNotice:
    """A verified, parsed webhook. ``payment`` is set when the event is about a payment's status,
    ``refund`` (with ``refund_reference``: our refund id or the provider's) when about a refund."""

    event_id: str
    type: str
    payload: dict[str, Any]
    payment: ProviderPayment | None = None
    refund: ProviderRefund | None = None
    our_payment_id: str | None = None  # from the metadata/notes we attach at creation
    extra: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(ABC):
    name: str
    label: str
    #: May the provider charge a saved method off-session (no-show and overstay fees)?
    supports_off_session = False
    supports_transfers = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    @abstractmethod
    def is_configured(self) -> bool:
        """Are the keys this provider needs set? Unconfigured providers refuse every call."""

    def ensure_configured(self) -> None:
        if not self.is_configured():
            raise ProviderNotConfiguredError(
                f"The {self.label} provider is not configured on this server.", attr="provider"
            )

    @abstractmethod
    def create_payment(self, *, payment: Payment, customer: User | None) -> Checkout:
        """Start collecting ``payment.amount``; idempotency key ``payment-<id>``."""

    @abstractmethod
    def fetch_payment(self, *, payment: Payment) -> ProviderPayment:
        """The payment's current state at the provider (reconciliation)."""

    @abstractmethod
    def refund(self, *, payment: Payment, refund: Refund) -> ProviderRefund:
        """Refund ``refund.amount`` of ``payment``; idempotency key ``refund-<refund id>``."""

    @abstractmethod
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        """Verify the signature over the raw body and parse it; :class:`WebhookSignatureError` if forged."""

    def transfer(self, *, payout: Payout) -> str:
        """Send ``payout.amount`` to ``payout.account_id``; idempotency key ``payout-<id>``. Returns the transfer id."""
        raise ProviderNotConfiguredError(f"{self.label} cannot pay out to connected accounts.")

    def charge_off_session(self, *, payment: Payment, customer: User) -> ProviderPayment:
        """Charge the customer's saved method for ``payment`` without them present."""
        raise ProviderNotConfiguredError(f"{self.label} cannot charge a saved payment method.")
