"""The sandbox provider, for local demos only: a payment stays ``requires_action`` until the driver
confirms it through ``POST /api/v1/payments/{id}/sandbox-confirm/``. No money moves. Enabled in
development (``DEBUG``) or with ``PAYMENTS_SANDBOX_ENABLED``; production settings refuse it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from payments.models import PaymentStatus, RefundStatus

from .base import Checkout, PaymentProvider, ProviderPayment, ProviderRefund, WebhookNotice, WebhookSignatureError

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment, Payout, Refund


class SandboxProvider(PaymentProvider):
    name = "sandbox"
    label = "Sandbox (demo, no real money)"
    supports_transfers = True

    def is_configured(self) -> bool:
        return bool(self.config.get("enabled"))

    def create_payment(self, *, payment: Payment, customer: User | None) -> Checkout:
        return Checkout(
            provider_payment_id=f"sandbox_{payment.pk.hex}",
            client_data={"sandbox": True, "confirm_url": f"/api/v1/payments/{payment.pk}/sandbox-confirm/"},
            status=PaymentStatus.REQUIRES_ACTION,
        )

    def fetch_payment(self, *, payment: Payment) -> ProviderPayment:
        # Nothing happens at a sandbox "provider" by itself: the state is whatever we recorded.
        return ProviderPayment(provider_payment_id=payment.provider_payment_id, status=payment.status)

    def refund(self, *, payment: Payment, refund: Refund) -> ProviderRefund:
        return ProviderRefund(provider_refund_id=f"sandbox_refund_{refund.pk.hex}", status=RefundStatus.SUCCEEDED)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        raise WebhookSignatureError("The sandbox provider has no webhooks.")

    def transfer(self, *, payout: Payout) -> str:
        return f"sandbox_transfer_{payout.pk.hex}"
