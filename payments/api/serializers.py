from typing import Any

from rest_framework import serializers

from payments.models import Payment, Payout, Refund, RefundReason


class PaymentCreateInputSerializer(serializers.Serializer):
    booking = serializers.UUIDField(help_text="Your booking to pay (what is left to pay on it).")
    provider = serializers.CharField(help_text="`stripe`, `razorpay` or (demos) `sandbox`; see `payments/providers/`.")


class PaymentOutputSerializer(serializers.ModelSerializer[Payment]):
    refundable_amount = serializers.IntegerField(read_only=True)

    class Meta:
        model = Payment
        fields = (
            "id",
            "booking",
            "pass_purchase",
            "purpose",
            "description",
            "amount",
            "owner_amount",
            "platform_amount",
            "currency",
            "provider",
            "provider_payment_id",
            "status",
            "refunded_amount",
            "refundable_amount",
            "failure_reason",
            "card_brand",
            "card_last4",
            "succeeded_at",
            "created_at",
        )
        read_only_fields = fields


class PaymentCreateOutputSerializer(serializers.Serializer):
    payment = PaymentOutputSerializer()
    client = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "What the client SDK needs. Stripe: `client_secret`, `publishable_key`, `payment_intent`. "
            "Razorpay: `order_id`, `key_id`, `amount`, `currency`. Sandbox: `confirm_url`."
        ),
    )


class PaymentPayInputSerializer(serializers.Serializer):
    provider = serializers.CharField(help_text="`stripe`, `razorpay` or (demos) `sandbox`.")


class PassPurchaseInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(help_text="A pass product on sale (`GET /pricing/pass-products/`).")
    vehicle = serializers.UUIDField(required=False, allow_null=True, help_text="One of your vehicles (optional).")
    start = serializers.DateTimeField(required=False, help_text="Default: now. Weekly = 7 days, monthly = 30 days.")
    provider = serializers.CharField(help_text="`stripe`, `razorpay` or (demos) `sandbox`.")


class RazorpayVerifyInputSerializer(serializers.Serializer):
    razorpay_order_id = serializers.CharField(max_length=255)
    razorpay_payment_id = serializers.CharField(max_length=255)
    razorpay_signature = serializers.CharField(max_length=255)


class CashPaymentInputSerializer(serializers.Serializer):
    booking = serializers.UUIDField()
    amount = serializers.IntegerField(
        required=False, min_value=1, help_text="Optional check: must equal what is due (minor units)."
    )


# Staff may not claim the automatic reason (a payment that arrived after its hold expired).
REFUND_REQUEST_REASONS = [choice for choice in RefundReason.choices if choice[0] != RefundReason.HOLD_EXPIRED]


# Staff may not claim the automatic reason (a payment that arrived after its hold expired).
REFUND_REQUEST_REASONS = [choice for choice in RefundReason.choices if choice[0] != RefundReason.HOLD_EXPIRED]


class RefundInputSerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False, min_value=1, help_text="Minor units; default: everything still refundable."
    )
    reason = serializers.ChoiceField(choices=REFUND_REQUEST_REASONS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class RefundOutputSerializer(serializers.ModelSerializer[Refund]):
    class Meta:
        model = Refund
        fields = (
            "id",
            "payment",
            "amount",
            "owner_amount",
            "platform_amount",
            "reason",
            "note",
            "status",
            "provider_refund_id",
            "failure_reason",
            "requested_by",
            "approved_by",
            "created_at",
            "completed_at",
        )
        read_only_fields = fields


class WebhookOutputSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    outcome = serializers.CharField(help_text="`processed`, `ignored`, `failed` (retried by us) or `duplicate`.")


class EarningsQuerySerializer(serializers.Serializer):
    # ``from`` is a Python keyword: declared below under its public name.
    to = serializers.DateTimeField(required=False)
    currency = serializers.CharField(required=False, min_length=3, max_length=3)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False, help_text="Default: 30 days ago.")
        return fields


class EarningsOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    gross = serializers.IntegerField(help_text="Paid by drivers in the period (minor units).")
    fees = serializers.IntegerField(help_text="Kept by the platform (service + transaction fees).")
    refunds = serializers.IntegerField(help_text="Refunded in the period.")
    net = serializers.IntegerField(help_text="Your share of the payments minus your share of the refunds.")
    pending = serializers.IntegerField(help_text="Owed to you now, not yet paid out.")
    paid_out = serializers.IntegerField(help_text="Paid out in the period.")
    next_payout_amount = serializers.IntegerField(help_text="Payable at the next payout run (past the holdback).")
    next_payout_after = serializers.DateTimeField(allow_null=True, help_text="Null without a payout account.")


class PayoutOutputSerializer(serializers.ModelSerializer[Payout]):
    class Meta:
        model = Payout
        fields = (
            "id",
            "organization",
            "currency",
            "amount",
            "period_end",
            "status",
            "provider",
            "transfer_id",
            "attempts",
            "created_at",
            "paid_at",
        )
        read_only_fields = fields


class ProviderOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField(source="label")
