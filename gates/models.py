"""Gate devices, their keys, the events they report, staff commands and the manual-review queue."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from parking.models import Facility


class GateDirection(models.TextChoices):
    ENTRY = "entry", "Entry"
    EXIT = "exit", "Exit"
    BOTH = "both", "Entry and exit"


class CredentialType(models.TextChoices):
    QR = "qr", "QR credential"
    PLATE = "plate", "Licence plate"
    REFERENCE = "reference", "Booking reference"
    TICKET = "ticket", "Drive-in ticket"


class GateStatus(models.TextChoices):
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    MAINTENANCE = "maintenance", "Maintenance"


def _all_credentials() -> list[str]:
    return list(CredentialType.values)


class Gate(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="gates")
    name = models.CharField(max_length=100)
    lane = models.CharField(max_length=40, blank=True)
    direction = models.CharField(max_length=8, choices=GateDirection.choices, default=GateDirection.BOTH)
    accepted_credentials = ArrayField(
        models.CharField(max_length=12, choices=CredentialType.choices), default=_all_credentials
    )
    status = models.CharField(max_length=12, choices=GateStatus.choices, default=GateStatus.OFFLINE)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    software_version = models.CharField(max_length=40, blank=True)
    open_seconds = models.PositiveSmallIntegerField(default=8, help_text="How long the barrier stays open.")
    anti_passback = models.BooleanField(default=True, help_text="Refuse a second entry while inside.")
    plate_confidence_threshold = models.DecimalField(
        max_digits=4, decimal_places=3, default=0.9, help_text="Plate reads below this go to manual review."
    )
    allow_drive_in = models.BooleanField(default=False, help_text="Unknown plates may start drive-in sessions.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("facility_id", "name")
        constraints = (models.UniqueConstraint(fields=("facility", "name"), name="gate_name_per_facility"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_direction_display()})"


class GateKey(models.Model):
    """A device key: ``gk_<prefix>_<secret>``; only the SHA-256 of the whole key is stored. Rotating
    revokes the gate's previous keys at once."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"gk_{self.prefix}_…"


class Decision(models.TextChoices):
    OPEN = "open", "Open"
    DENY = "deny", "Deny"


class EventKind(models.TextChoices):
    ENTRY = "entry", "Entry"
    EXIT = "exit", "Exit"


class GateEvent(models.Model):
    """One decision a gate took (live, or offline and uploaded later); unique per ``(gate, event_id)``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="events")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=64, help_text="The device's own id for the event.")
    kind = models.CharField(max_length=5, choices=EventKind.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    credential_type = models.CharField(max_length=12, choices=CredentialType.choices)
    plate_index = models.CharField(max_length=64, blank=True)
    plate_confidence = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="gate_events"
    )
    decision = models.CharField(max_length=4, choices=Decision.choices)
    reason_code = models.CharField(max_length=32)
    message = models.CharField(max_length=200)
    offline = models.BooleanField(default=False, help_text="Decided by the gate without the platform.")
    flagged = models.BooleanField(default=False, help_text="Needs staff attention.")
    amount_due = models.PositiveIntegerField(null=True, blank=True)
    payment = models.ForeignKey("payments.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ("-occurred_at",)
        constraints = (models.UniqueConstraint(fields=("gate", "event_id"), name="gate_event_once"),)
        indexes = (
            models.Index(fields=("facility", "-occurred_at"), name="gate_event_facility_time"),
            models.Index(fields=("plate_index",), condition=~Q(plate_index=""), name="gate_event_plate"),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.decision} ({self.reason_code})"


class CommandKind(models.TextChoices):
    OPEN = "open", "Open"
    CLOSE = "close", "Close"
    SYNC = "sync", "Sync snapshot"
    REBOOT = "reboot", "Reboot"


class GateCommand(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="commands")
    kind = models.CharField(max_length=8, choices=CommandKind.choices)
    reason = models.CharField(max_length=200, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = (models.Index(fields=("gate",), condition=Q(delivered_at__isnull=True), name="gate_command_pending"),)

    def __str__(self) -> str:
        return f"{self.kind} → {self.gate_id}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ManualReview(models.Model):
    """A gate event staff must look at (low-confidence plate, offline entry for a cancelled booking)."""

    event = models.OneToOneField(GateEvent, on_delete=models.CASCADE, related_name="review")
    reason = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"review {self.reason} ({self.status})"


class GateAlert(models.Model):
    """An outage of a gate (it stopped polling). Open while ``ended_at`` is empty; staff are emailed once."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, default="offline")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at",)
        constraints = (
            models.UniqueConstraint(
                fields=("gate", "kind"), condition=Q(ended_at__isnull=True), name="gate_alert_open_once"
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.gate_id} since {self.started_at:%Y-%m-%d %H:%M}"
