"""Cash at the booth or gate: staff record the payment or refund (audited); nothing to call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from payments.models import PaymentStatus, RefundStatus

from .base import Checkout, PaymentProvider, ProviderPayment, ProviderRefund, WebhookNotice, WebhookSignatureError

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment, Refund


class CashProvider(PaymentProvider):
    name = "cash"
    label = "Cash"

    def is_configured(self) -> bool:
        return True

    def create_payment(self, *, payment: Payment, customer: User | None) -> Checkout:
        # Only staff record cash (payments.services.payment_record_cash); the money is in hand.
        return Checkout(provider_payment_id=f"cash_{payment.pk.hex}", client_data={}, status=PaymentStatus.SUCCEEDED)

    def fetch_payment(self, *, payment: Payment) -> ProviderPayment:
        return ProviderPayment(provider_payment_id=payment.provider_payment_id, status=payment.status)

    def refund(self, *, payment: Payment, refund: Refund) -> ProviderRefund:
        # Handed back over the counter by the staff member who records it.
        return ProviderRefund(provider_refund_id=f"cash_refund_{refund.pk.hex}", status=RefundStatus.SUCCEEDED)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        raise WebhookSignatureError("Cash has no webhooks.")
