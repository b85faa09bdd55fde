import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Func
from django.utils import timezone

from accounts.models import Organization
from parking.models import Facility, Spot, Zone
from pricing.models import Quote
from vehicles.fields import EncryptedPlateField
from vehicles.models import Vehicle, VehicleType


class BookingStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


#: Statuses that hold the spot (ARCHITECTURE §6): the exclusion constraint applies to these only.
ACTIVE_STATUSES: tuple[str, ...] = (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)

#: The state machine: every allowed transition. Anything else is 409 ``invalid_transition``.
TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.PENDING_PAYMENT: frozenset({BookingStatus.CONFIRMED, BookingStatus.EXPIRED, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.CHECKED_IN, BookingStatus.CANCELLED, BookingStatus.NO_SHOW}),
    # Cancelled while parked only with a full refund, when the spot was occupied (bookings/issues.py).
    BookingStatus.CHECKED_IN: frozenset({BookingStatus.COMPLETED, BookingStatus.CANCELLED}),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    # A late driver gets the booking back if a compatible spot is still free (booking_check_in).
    BookingStatus.NO_SHOW: frozenset({BookingStatus.CHECKED_IN}),
}


class BookingKind(models.TextChoices):
    RESERVATION = "reservation", "Reservation"
    DRIVE_IN = "drive_in", "Drive-in session"


class BookingSource(models.TextChoices):
    APP = "app", "App"
    GATE = "gate", "Gate"
    STAFF = "staff", "Staff"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the constraint expression


class Booking(models.Model):
    """A reservation or drive-in session of one spot for ``[start, end)``.

    Written only through ``bookings.services``. Two guards make an overlapping active pair on one
    spot impossible (ARCHITECTURE §6): the services lock the spot rows before checking and writing,
    and the ``booking_no_overlap`` exclusion constraint rejects any overlapping active row, even from
    a write that bypasses the services. Amounts are integer minor units copied from the quote.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=16, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=BookingKind.choices, default=BookingKind.RESERVATION)
    source = models.CharField(max_length=8, choices=BookingSource.choices, default=BookingSource.APP)
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings"
    )
    vehicle = models.ForeignKey(Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings")
    vehicle_type = models.CharField(max_length=16, choices=VehicleType.choices)
    plate = EncryptedPlateField(null=True, blank=True, help_text="Snapshot of the normalised plate, encrypted.")
    plate_index = models.CharField(max_length=64, blank=True, db_index=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="bookings")
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="bookings")
    spot = models.ForeignKey(Spot, on_delete=models.PROTECT, related_name="bookings", db_index=False)
    start = models.DateTimeField()
    end = models.DateTimeField()
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=BookingStatus.choices)
    hold_expires_at = models.DateTimeField(null=True, blank=True, help_text="Unpaid holds expire then.")
    quote = models.ForeignKey(Quote, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    quote_snapshot = models.JSONField(default=dict, help_text="The quote's line items and explanation.")
    currency = models.CharField(max_length=3)
    parking_amount = models.PositiveIntegerField()
    discount_amount = models.PositiveIntegerField(default=0)
    service_fee = models.PositiveIntegerField()
    transaction_fee = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    owner_payout = models.PositiveIntegerField()
    platform_revenue = models.PositiveIntegerField()
    promo_code = models.CharField(max_length=40, blank=True)
    access_code = models.CharField(max_length=8, blank=True, help_text="Numeric code for host driveways.")
    cancellation_reason = models.CharField(max_length=500, blank=True)
    refund_amount = models.PositiveIntegerField(null=True, blank=True, help_text="Set when cancelled.")
    early_exit_refund_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set at check-out before the end (early-exit policy)."
    )
    overstay_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set at check-out after the end plus the overstay grace."
    )
    no_show_fee = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set when released as a no-show (the facility's no-show fee percentage)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-start", "-created_at")
        constraints = (
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="booking_start_before_end"),
            models.CheckConstraint(
                condition=models.Q(
                    total=models.F("parking_amount")
                    - models.F("discount_amount")
                    + models.F("service_fee")
                    + models.F("transaction_fee")
                ),
                name="booking_total_adds_up",
            ),
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[
                    ("spot", RangeOperators.EQUAL),
                    (
                        TsTzRange("start", "end", RangeBoundary(inclusive_lower=True, inclusive_upper=False)),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=models.Q(status__in=ACTIVE_STATUSES),
            ),
        )
        indexes = (
            # Availability checks: active bookings of a spot overlapping a window.
            models.Index(
                fields=("spot", "end", "start"),
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="booking_spot_active",
            ),
            models.Index(fields=("driver", "-start"), name="booking_driver_start"),
            models.Index(fields=("facility", "status", "start"), name="booking_facility_status_start"),
            models.Index(
                fields=("hold_expires_at",),
                condition=models.Q(status=BookingStatus.PENDING_PAYMENT),
                name="booking_pending_hold",
            ),
        )

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BookingEvent(models.Model):
    """History of a booking: every status change with who, when and why."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("booking_id", "created_at", "id")

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.from_status or '∅'} → {self.to_status}"


class OutboxKind(models.TextChoices):
    BOOKING_CONFIRMED = "booking_confirmed", "Booking confirmed"
    BOOKING_CANCELLED = "booking_cancelled", "Booking cancelled"
    BOOKING_REMINDER = "booking_reminder", "Booking reminder"
    BOOKING_ENDING = "booking_ending", "Booking ending soon"
    NO_SHOW = "no_show", "No-show recorded"
    OVERSTAY = "overstay", "Overstay notice"


class EmailOutboxBase(models.Model):
    """An email to send after its transaction commits (ARCHITECTURE §6), sent by ``bookings.outbox``
    (``outbox_send_row``), retried with back-off. ``sent_at`` set means sent: never again. Higher
    apps (enforcement notices) keep their own outbox tables on this base."""

    to_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class OutboxMessage(EmailOutboxBase):
    """An email about a booking.

    Written in the booking's transaction (so it exists exactly when the booking change does); sent by
    ``bookings.outbox`` from a task kicked on commit, or by the every-minute beat job when the broker
    was down.
    """

    kind = models.CharField(max_length=32, choices=OutboxKind.choices)
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="outbox_messages")

    class Meta:
        ordering = ("created_at", "id")
        indexes = (models.Index(fields=("sent_at", "next_attempt_at"), name="outbox_due"),)
        constraints = (
            # A booking is confirmed, cancelled and reminded at most once: a rerun of the reminder
            # job (or two workers at once) cannot queue a second email.
            models.UniqueConstraint(fields=("booking", "kind"), name="outbox_one_per_booking_kind"),
        )

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email}"


class IssueKind(models.TextChoices):
    SPOT_OCCUPIED = "spot_occupied", "Spot occupied"
    ACCESS_PROBLEM = "access_problem", "Access problem"
    OTHER = "other", "Other"


class IssueOutcome(models.TextChoices):
    MOVED = "moved", "Moved to another spot"
    CANCELLED = "cancelled", "Cancelled with a full refund"
    REPORTED = "reported", "Reported to staff"


class IssueReport(models.Model):
    """A problem a driver reported on site; staff are alerted (``StaffAlert``) whatever the outcome."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="issue_reports")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=IssueKind.choices)
    note = models.CharField(max_length=1000, blank=True)
    outcome = models.CharField(max_length=10, choices=IssueOutcome.choices)
    from_spot = models.ForeignKey(Spot, on_delete=models.PROTECT, related_name="+")
    to_spot = models.ForeignKey(Spot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True, help_text="Set by staff once dealt with.")

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.kind} on {self.booking_id} ({self.outcome})"


class StaffAlert(EmailOutboxBase):
    """An email to one member of the facility's organization about a reported issue."""

    report = models.ForeignKey(IssueReport, on_delete=models.CASCADE, related_name="alerts")

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"alert {self.report_id} → {self.to_email}"
