"""Payments, refunds, the webhook inbox, the double-entry ledger and owner payouts.

Money is an integer in minor units of ``currency`` (ARCHITECTURE §5). The guards that protect it are
in the database: a payment can never be refunded beyond its amount, a payment's split always adds up,
a provider event has exactly one row, a ledger transaction always sums to zero (a deferred constraint
trigger) and ledger rows can never be changed or deleted.
"""

import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Organization


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Created"
    REQUIRES_ACTION = "requires_action", "Requires action"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Statuses only move forward along this rank, so any delivery order of provider events ends in the
# same state. ``failed`` is not final (a declined card may be retried on the same Stripe intent and
# succeed); ``succeeded`` and ``cancelled`` are.
STATUS_RANK: dict[str, int] = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.REQUIRES_ACTION: 1,
    PaymentStatus.PROCESSING: 2,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CANCELLED: 4,
    PaymentStatus.SUCCEEDED: 5,
}
FINAL_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED})
OPEN_STATUSES = frozenset({PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING})


class PaymentPurpose(models.TextChoices):
    BOOKING = "booking", "Booking"
    EXTENSION = "extension", "Extension"
    OVERSTAY = "overstay", "Overstay fee"
    NO_SHOW_FEE = "no_show_fee", "No-show fee"
    VIOLATION = "violation", "Violation fine"
    PASS = "pass", "Pass"


class Payment(models.Model):
    """What a driver pays (or owes, while ``provider`` is empty: an open payment request).

    ``owner_amount`` goes to the organization, ``platform_amount`` (service + transaction fees) to the
    platform; they always add up to ``amount``. ``refunded_amount`` counts refunds in flight and done,
    so it is reserved under this row's lock before the provider is called and can never exceed
    ``amount`` (a check constraint).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    pass_purchase = models.ForeignKey(
        "pricing.Pass", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    purpose = models.CharField(max_length=16, choices=PaymentPurpose.choices, default=PaymentPurpose.BOOKING)
    description = models.CharField(max_length=200, blank=True)
    amount = models.PositiveIntegerField()
    owner_amount = models.PositiveIntegerField()
    platform_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=16, blank=True, help_text="Empty: an open payment request.")
    provider_payment_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED)
    refunded_amount = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    succeeded_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the receipt email went out (payments/notifications.py)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("owner_amount") + F("platform_amount")), name="payment_split_adds_up"
            ),
            models.CheckConstraint(condition=Q(refunded_amount__lte=F("amount")), name="payment_refund_within_amount"),
            models.UniqueConstraint(
                fields=("provider", "provider_payment_id"),
                condition=~Q(provider_payment_id=""),
                name="payment_provider_id_unique",
            ),
        )
        indexes = (
            models.Index(fields=("booking", "status"), name="payment_booking_status"),
            models.Index(fields=("driver", "-created_at"), name="payment_driver_created"),
            models.Index(
                fields=("status", "updated_at"),
                condition=Q(status__in=("created", "requires_action", "processing")),
                name="payment_open",
            ),
        )

    def __str__(self) -> str:
        return f"{self.purpose} {self.amount} {self.currency} ({self.status})"

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount if self.status == PaymentStatus.SUCCEEDED else 0


class RefundReason(models.TextChoices):
    CANCELLATION = "cancellation", "Cancellation"
    EARLY_EXIT = "early_exit", "Early exit"
    NO_SHOW_ADJUSTMENT = "no_show_adjustment", "No-show adjustment"
    GOODWILL = "goodwill", "Goodwill"
    DISPUTE = "dispute", "Dispute"
    HOLD_EXPIRED = "hold_expired", "Paid after the hold expired"
    NOT_OWED = "not_owed", "No longer owed (fine waived or cancelled, fee withdrawn)"


class RefundStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"


class Refund(models.Model):
    """Money back on a payment. ``owner_amount``/``platform_amount`` say whose share it reverses
    (payments/split.py has the rule); they add up to ``amount``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    owner_amount = models.PositiveIntegerField()
    platform_amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=RefundStatus.choices)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    driver_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the driver was emailed about the refund."
    )

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("owner_amount") + F("platform_amount")), name="refund_split_adds_up"
            ),
        )

    def __str__(self) -> str:
        return f"refund {self.amount} ({self.status})"


class WebhookOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (unknown type or no matching payment)"
    FAILED = "failed", "Failed (retried by the inbox job)"


class WebhookEvent(models.Model):
    """The webhook inbox: one row per provider event id, inserted in the transaction of its effect."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=WebhookOutcome.choices, default=WebhookOutcome.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("-received_at",)
        constraints = (models.UniqueConstraint(fields=("provider", "event_id"), name="webhook_event_once"),)

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class LedgerAccount(models.TextChoices):
    PROVIDER_CLEARING = "provider_clearing", "Provider clearing (money held at the provider)"
    PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
    OWNER_PAYABLE = "owner_payable", "Owner payable"


@pgtrigger.register(
    pgtrigger.Protect(name="ledger_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
    # At commit, every ledger transaction touched must sum to zero (double entry): a deferred
    # constraint trigger, so the lines of one transaction may be inserted one by one.
    pgtrigger.Trigger(
        name="ledger_transaction_balances",
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        timing=pgtrigger.Deferred,
        func="""
            IF (SELECT sum(amount) FROM payments_ledgerentry WHERE transaction_id = NEW.transaction_id) <> 0 THEN
                RAISE EXCEPTION 'ledger transaction % does not balance', NEW.transaction_id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        """,
    ),
)
class LedgerEntry(models.Model):
    """One line of a double-entry transaction: debits positive, credits negative, in minor units.

    ``organization`` is set on owner-payable lines (a liability: credits are what the platform owes the
    organization, so its balance owed is minus their sum). Cash never reaches the platform: a cash
    payment debits the organization's payable by the whole amount it took over the counter. Rows are
    append-only. payments/ledger.py has the postings.
    """

    transaction_id = models.UUIDField(db_index=True)
    account = models.CharField(max_length=20, choices=LedgerAccount.choices)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payout = models.ForeignKey("Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    memo = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        verbose_name_plural = "ledger entries"
        indexes = (models.Index(fields=("account", "organization", "created_at"), name="ledger_account_org"),)

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+} {self.currency}"


class PayoutAccount(models.Model):
    """Where and when an organization is paid, and its refund approval threshold."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="payout_account")
    provider = models.CharField(max_length=16, blank=True, help_text="`stripe` (Connect) or `razorpay` (Route).")
    account_id = models.CharField(max_length=255, blank=True, help_text="Connected / linked account id.")
    holdback_hours = models.PositiveIntegerField(default=24, help_text="Paid this long after the stay ends.")
    minimum_amount = models.PositiveIntegerField(default=1000, help_text="Minor units; smaller balances wait.")
    refund_approval_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="Refunds above this (minor units) need a second staff member's approval."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"payout account of {self.organization_id}"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


class Payout(models.Model):
    """One transfer of an organization's payable balance; ``items`` are the ledger lines it settles."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    amount = models.PositiveIntegerField()
    period_end = models.DateTimeField(help_text="Settles owner-payable lines up to this time.")
    status = models.CharField(max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    provider = models.CharField(max_length=16)
    account_id = models.CharField(max_length=255)
    transfer_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"payout {self.amount} {self.currency} ({self.status})"


class PayoutItem(models.Model):
    """A ledger line settled by a payout; a line is settled at most once (unique)."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="items")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="payout_item")

    def __str__(self) -> str:
        return f"{self.payout_id} settles {self.entry_id}"


class MismatchKind(models.TextChoices):
    AMOUNT = "amount", "Amount or currency differs"
    STATUS = "status", "Provider says otherwise"
    UNKNOWN = "unknown", "Unknown at the provider"


class ReconciliationMismatch(models.Model):
    """Something the provider says that we could not apply automatically: for staff to resolve."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="mismatches")
    kind = models.CharField(max_length=10, choices=MismatchKind.choices)
    detail = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            # One open mismatch per payment and kind: a rerun of reconciliation adds nothing.
            models.UniqueConstraint(
                fields=("payment", "kind"), condition=Q(resolved_at__isnull=True), name="mismatch_open_once"
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class AlertKind(models.TextChoices):
    FAILURE_RATE = "failure_rate", "Payment failure rate above the threshold"
    MISMATCH = "mismatch", "Reconciliation mismatch"


class PaymentAlert(models.Model):
    """An operational alert for an organization's managers: shown on the dashboard while open and
    emailed once. Opened and closed by the ``payments.alerts_check`` job (payments/alerts.py)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    mismatch = models.OneToOneField(
        ReconciliationMismatch, on_delete=models.CASCADE, null=True, blank=True, related_name="alert"
    )
    detail = models.CharField(max_length=500)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-opened_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=("organization",),
                condition=Q(kind="failure_rate", closed_at__isnull=True),
                name="payment_alert_one_open_failure_rate",
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"
