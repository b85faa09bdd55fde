"""Enforcement: per-facility penalty policies and the immutable log of enforcement checks.

(Violations, disputes and the no-show / overstay jobs build on these; see issue #8.)"""

import pgtrigger
from django.conf import settings
from django.db import models

from accounts.models import Organization
from parking.models import Facility


class PenaltyPolicy(models.Model):
    """What a facility charges when rules are broken (minor units of the facility's currency)."""

    facility = models.OneToOneField(Facility, on_delete=models.CASCADE, related_name="penalty_policy")
    fines = models.JSONField(
        default=dict, blank=True, help_text='Fine per violation kind, e.g. {"unauthorized": 5000, "blocking": 7500}.'
    )
    overstay_grace_minutes = models.PositiveIntegerField(default=15)
    overstay_hourly_rate = models.PositiveIntegerField(
        null=True, blank=True, help_text="Per started hour; empty: the facility's pricing rule."
    )
    overstay_daily_cap = models.PositiveIntegerField(null=True, blank=True)
    overstay_admin_fee = models.PositiveIntegerField(default=0)
    no_show_fee_percent = models.PositiveSmallIntegerField(default=0, help_text="Of the parking amount.")
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
