"""Enforcement: penalty policies, the immutable check log, violations with evidence and disputes,
the driver notices about them, and the run log of the scheduled jobs (docs/enforcement.md)."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from bookings.models import EmailOutboxBase
from parking.models import Facility, Spot
from vehicles.fields import EncryptedPlateField


class PenaltyPolicy(models.Model):
    """What a facility charges when rules are broken (minor units of the facility's currency).

    The arrival grace, the no-show fee percentage, the overstay grace and the overstay rate per started
    hour are the facility's own policy fields (owners edit them with the facility); this adds the fines
    and the overstay cap, admin fee and violation threshold."""

    facility = models.OneToOneField(Facility, on_delete=models.CASCADE, related_name="penalty_policy")
    fines = models.JSONField(
        default=dict, blank=True, help_text='Fine per violation kind, e.g. {"unauthorized": 5000, "blocking": 7500}.'
    )
    overstay_daily_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this much overstay charge per started 24 hours; empty: no cap."
    )
    overstay_admin_fee = models.PositiveIntegerField(default=0, help_text="Added once to any overstay charge.")
    overstay_violation_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=120,
        help_text="An overstay violation is issued once a car stays this long past its end (after the grace); "
        "empty: never.",
    )
    fine_due_days = models.PositiveSmallIntegerField(default=14, help_text="A fine is due this many days after issue.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "penalty policies"

    def __str__(self) -> str:
        return f"penalty policy of {self.facility_id}"


class CheckOutcome(models.TextChoices):
    BOOKING = "booking", "A booking covers it"
    PASS = "pass", "A pass covers it"
    DRIVE_IN = "drive_in", "An open drive-in session"
    GRACE = "grace", "Within the grace period after a booking"
    NOTHING = "nothing", "Nothing covers it"


@pgtrigger.register(
    # Immutable: the database refuses UPDATE and DELETE on check rows.
    pgtrigger.Protect(name="enforcement_check_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
)
class EnforcementCheck(models.Model):
    """One plate check by staff on site: who asked, where, when, and what the platform answered."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    plate_index = models.CharField(max_length=64, db_index=True)
    checked_at = models.DateTimeField()
    allowed = models.BooleanField()
    outcome = models.CharField(max_length=10, choices=CheckOutcome.choices)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Until when, grace included.")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ("-checked_at", "-id")

    def __str__(self) -> str:
        return f"check {self.outcome} at {self.checked_at:%Y-%m-%d %H:%M}"


class ViolationKind(models.TextChoices):
    OVERSTAY = "overstay", "Overstay"
    NO_SHOW = "no_show", "No-show"
    UNAUTHORIZED = "unauthorized", "Unauthorized parking"
    WRONG_SPOT = "wrong_spot", "Wrong spot"
    EXPIRED_PASS = "expired_pass", "Expired pass"
    BLOCKING = "blocking", "Blocking"
    OTHER = "other", "Other"


class ViolationStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    NOTIFIED = "notified", "Notified"
    PAID = "paid", "Paid"
    DISPUTED = "disputed", "Disputed"
    UPHELD = "upheld", "Upheld"
    CANCELLED = "cancelled", "Cancelled"
    WAIVED = "waived", "Waived"


#: Final: the violation is read-only (the database refuses changes) except a manager's reopen.
RESOLVED_STATUSES: tuple[str, ...] = (ViolationStatus.PAID, ViolationStatus.CANCELLED, ViolationStatus.WAIVED)
#: The fine is owed in these.
PAYABLE_STATUSES: tuple[str, ...] = (ViolationStatus.ISSUED, ViolationStatus.NOTIFIED, ViolationStatus.UPHELD)

VIOLATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ViolationStatus.ISSUED: frozenset(
        {ViolationStatus.NOTIFIED, ViolationStatus.PAID, ViolationStatus.DISPUTED, ViolationStatus.WAIVED}
    ),
    ViolationStatus.NOTIFIED: frozenset({ViolationStatus.PAID, ViolationStatus.DISPUTED, ViolationStatus.WAIVED}),
    ViolationStatus.DISPUTED: frozenset({ViolationStatus.UPHELD, ViolationStatus.CANCELLED, ViolationStatus.WAIVED}),
    ViolationStatus.UPHELD: frozenset({ViolationStatus.PAID, ViolationStatus.WAIVED}),
    ViolationStatus.PAID: frozenset(),
    ViolationStatus.CANCELLED: frozenset(),
    ViolationStatus.WAIVED: frozenset(),
}


@pgtrigger.register(
    # Resolved violations are read-only: any update that leaves a resolved row resolved is refused
    # by the database. The one way out is a reopen (the status goes back to an open one).
    pgtrigger.Protect(
        name="violation_resolved_read_only",
        operation=pgtrigger.Update,
        condition=pgtrigger.Q(old__status__in=RESOLVED_STATUSES, new__status__in=RESOLVED_STATUSES),
    ),
    pgtrigger.Protect(name="violation_no_delete", operation=pgtrigger.Delete),
)
class Violation(models.Model):
    """A breach of the facility's rules by a vehicle, with its fine (minor units) and lifecycle:
    ``issued`` → ``notified`` → ``paid`` | ``disputed`` → ``upheld`` (→ ``paid``) | ``cancelled``; or
    ``waived``. Written only through ``enforcement.services``."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="violations")
    spot = models.ForeignKey(Spot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    plate = EncryptedPlateField(null=True, blank=True, help_text="Normalised plate, encrypted.")
    plate_index = models.CharField(max_length=64, blank=True, db_index=True)
    vehicle = models.ForeignKey(
        "vehicles.Vehicle", on_delete=models.SET_NULL, null=True, blank=True, related_name="violations"
    )
    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.PROTECT, null=True, blank=True, related_name="violations"
    )
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="violations",
        help_text="The driver when known (the booking's, or the owner of the registered vehicle).",
    )
    kind = models.CharField(max_length=16, choices=ViolationKind.choices)
    status = models.CharField(max_length=12, choices=ViolationStatus.choices, default=ViolationStatus.ISSUED)
    fine_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    notes = models.TextField(blank=True)
    check_record = models.ForeignKey(
        EnforcementCheck, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_column="check_id"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField()
    due_date = models.DateField()
    payment = models.ForeignKey(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The payment request for the fine.",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.CharField(max_length=1000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-issued_at", "-id")
        constraints = (
            models.CheckConstraint(condition=Q(fine_amount__gte=0), name="violation_fine_not_negative"),
            # One overstay and one no-show violation per booking: a job rerun cannot issue a second.
            models.UniqueConstraint(
                fields=("booking", "kind"),
                condition=Q(kind__in=("overstay", "no_show")) & Q(booking__isnull=False),
                name="violation_one_per_booking_kind",
            ),
        )
        indexes = (models.Index(fields=("organization", "status", "-issued_at"), name="violation_org_status"),)

    def __str__(self) -> str:
        return f"V-{self.pk} {self.kind} ({self.status})"

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES


class EvidenceKind(models.TextChoices):
    NOTE = "note", "Note"
    PHOTO = "photo", "Photo"
    GATE_EVENT = "gate_event", "Gate event"


class ViolationEvidence(models.Model):
    """A note, a photo or a link to a gate event supporting a violation (added while it is open)."""

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=12, choices=EvidenceKind.choices)
    note = models.TextField(blank=True)
    photo = models.ImageField(upload_to="violations/%Y/%m/", blank=True)
    # A plain id, not a foreign key: gates is a sibling app (ARCHITECTURE §3) and gate events age out
    # under the retention policy while the violation stays.
    gate_event_id = models.UUIDField(null=True, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        verbose_name_plural = "violation evidence"

    def __str__(self) -> str:
        return f"{self.kind} for V-{self.violation_id}"


class ViolationEvent(models.Model):
    """History of a violation: every status change (and escalation) with who, when and why."""

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"V-{self.violation_id}: {self.from_status or '∅'} → {self.to_status}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    UPHELD = "upheld", "Upheld (the fine stands)"
    CANCELLED = "cancelled", "Cancelled (the fine is dropped)"


class Dispute(models.Model):
    """A driver contesting a violation; staff decide (uphold or cancel) with a note."""

    violation = models.ForeignKey(Violation, on_delete=models.PROTECT, related_name="disputes")
    driver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    evidence = models.TextField(blank=True, help_text="The driver's evidence (text, links).")
    evidence_file = models.FileField(upload_to="disputes/%Y/%m/", blank=True)
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = (
            models.UniqueConstraint(fields=("violation",), condition=Q(status="open"), name="dispute_one_open"),
        )

    def __str__(self) -> str:
        return f"dispute of V-{self.violation_id} ({self.status})"


class NoticeKind(models.TextChoices):
    ISSUED = "issued", "Violation issued"
    DISPUTE_RECEIVED = "dispute_received", "Dispute received"
    UPHELD = "upheld", "Dispute decided: upheld"
    CANCELLED = "cancelled", "Dispute decided: cancelled"
    WAIVED = "waived", "Violation waived"
    REOPENED = "reopened", "Violation reopened"


class ViolationNotice(EmailOutboxBase):
    """An email to the driver about a violation (the bookings outbox machinery sends it)."""

    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)

    class Meta:
        ordering = ("created_at", "id")
        indexes = (models.Index(fields=("sent_at", "next_attempt_at"), name="violation_notice_due"),)

    def __str__(self) -> str:
        return f"{self.kind} → V-{self.violation_id}"


class JobRun(models.Model):
    """One run of a scheduled job (a Celery task marked ``tracked``): when, how long, what it did."""

    job = models.CharField(max_length=100, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True, help_text="Empty while running.")
    result = models.JSONField(null=True, blank=True, help_text="What the job returned (counts).")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = (models.Index(fields=("job", "-started_at"), name="job_run_job_started"),)

    def __str__(self) -> str:
        return f"{self.job} at {self.started_at:%Y-%m-%d %H:%M:%S}"
