from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Organization

from .hours import ALWAYS_OPEN, validate_operating_hours


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/London).", code="invalid_timezone")
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - available_timezones() said yes
        raise ValidationError(f"{value!r} is not an IANA time zone.", code="invalid_timezone") from exc


def _always_open() -> dict[str, Any]:
    return dict(ALWAYS_OPEN)


class FacilityKind(models.TextChoices):
    GARAGE = "garage", "Garage"
    LOT = "lot", "Surface lot"
    DRIVEWAY = "driveway", "Driveway"
    STREET = "street", "Street"
    AIRPORT = "airport", "Airport"
    MALL = "mall", "Mall"
    OTHER = "other", "Other"


class EarlyExitRefund(models.TextChoices):
    NONE = "none", "No refund for unused time"
    PRORATED = "prorated", "Unused whole hours refunded, minus a minimum fee"


# The policies a driver agrees to when booking (shown publicly; bookings and enforcement read them).
FACILITY_POLICY_FIELDS: tuple[str, ...] = (
    "reservation_grace_minutes",
    "early_checkin_minutes",
    "min_booking_minutes",
    "max_booking_minutes",
    "requires_prepayment",
    "free_cancellation_minutes",
    "late_cancellation_fee_percent",
    "early_exit_refund",
    "early_exit_minimum_fee",
    "no_show_fee_percent",
    "overstay_grace_minutes",
    "overstay_rate_per_hour",
)


class Facility(models.Model):
    """A place drivers park: a garage, a lot, a driveway. Owned by one organization.

    Policies are data: the bookings and enforcement services read them, never hard-coded values.
    Percentages are whole numbers (0–100) applied to minor-unit amounts, rounded half-up.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="facilities")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    kind = models.CharField(max_length=16, choices=FacilityKind.choices, default=FacilityKind.GARAGE)
    description = models.TextField(blank=True)
    address_line = models.CharField(max_length=255)
    city = models.CharField(max_length=120)
    region = models.CharField("state / region", max_length=120, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    timezone = models.CharField(max_length=64, validators=[validate_timezone], help_text="IANA time zone name.")
    currency = models.CharField(max_length=3, help_text="ISO 4217; defaults to the organization's currency.")
    operating_hours = models.JSONField(default=_always_open, validators=[validate_operating_hours])
    # amenities
    is_covered = models.BooleanField(default=False)
    has_ev_charging = models.BooleanField(default=False)
    has_security = models.BooleanField(default=False)
    has_lighting = models.BooleanField(default=False)
    is_accessible = models.BooleanField(default=False)
    access_instructions = models.TextField(blank=True, help_text="Shown to drivers with a confirmed booking.")
    is_published = models.BooleanField(default=False, help_text="Visible in public search.")
    # Review aggregates, kept up to date by the reviews app (denormalised for search ordering).
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True, editable=False)
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    # policies
    reservation_grace_minutes = models.PositiveIntegerField(
        default=15, help_text="How late after the start a reservation may still check in before it is a no-show."
    )
    early_checkin_minutes = models.PositiveIntegerField(
        default=15, help_text="How early before the start check-in opens."
    )
    min_booking_minutes = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    max_booking_minutes = models.PositiveIntegerField(default=60 * 24 * 30, validators=[MinValueValidator(1)])
    requires_prepayment = models.BooleanField(default=True)
    free_cancellation_minutes = models.PositiveIntegerField(
        default=60, help_text="Cancelling at least this many minutes before the start is free."
    )
    late_cancellation_fee_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MaxValueValidator(100)], help_text="Kept from the parking amount on a late cancel."
    )
    early_exit_refund = models.CharField(max_length=16, choices=EarlyExitRefund.choices, default=EarlyExitRefund.NONE)
    early_exit_minimum_fee = models.PositiveIntegerField(
        default=0, help_text="Minor units kept on an early-exit refund (prorated policy)."
    )
    no_show_fee_percent = models.PositiveSmallIntegerField(
        default=100, validators=[MaxValueValidator(100)], help_text="Share of the parking amount charged on a no-show."
    )
    overstay_grace_minutes = models.PositiveIntegerField(default=15)
    overstay_rate_per_hour = models.PositiveIntegerField(
        default=0, help_text="Minor units per started hour beyond the grace period; 0 = price with the facility rules."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ("name", "id")
        constraints = (
            models.UniqueConstraint(fields=("organization", "slug"), name="facility_organization_slug_unique"),
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90), name="facility_latitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__gte=-180, longitude__lte=180), name="facility_longitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(min_booking_minutes__lte=models.F("max_booking_minutes")),
                name="facility_min_le_max_duration",
            ),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="facility_currency_iso"),
        )
        indexes = (
            # Geo prefilter: a bounding box on (latitude, longitude) among published facilities.
            models.Index(
                fields=("latitude", "longitude"), condition=models.Q(is_published=True), name="facility_published_geo"
            ),
            models.Index(fields=("organization", "name"), name="facility_org_name"),
        )

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (
            self.min_booking_minutes
            and self.max_booking_minutes
            and self.min_booking_minutes > self.max_booking_minutes
        ):
            raise ValidationError({"min_booking_minutes": "The minimum duration exceeds the maximum."})


class ZoneKind(models.TextChoices):
    FLOOR = "floor", "Floor"
    SECTION = "section", "Section"
    LOT = "lot", "Lot"


class Zone(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="zones")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False)
    name = models.CharField(max_length=100)
    level = models.SmallIntegerField(default=0, help_text="Floor number; negative below ground.")
    kind = models.CharField(max_length=16, choices=ZoneKind.choices, default=ZoneKind.FLOOR)
    display_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("facility_id", "display_order", "level", "name", "id")
        constraints = (models.UniqueConstraint(fields=("facility", "name"), name="zone_facility_name_unique"),)

    def __str__(self) -> str:
        return f"{self.facility} / {self.name}"


class SpotSize(models.TextChoices):
    SMALL = "small", "Small"
    MEDIUM = "medium", "Medium"
    LARGE = "large", "Large"
    XLARGE = "xlarge", "Extra large"


class SpotCategory(models.TextChoices):
    STANDARD = "standard", "Standard"
    EV = "ev", "EV charging"
    VIP = "vip", "VIP"
    ACCESSIBLE = "accessible", "Accessible"
    MOTORCYCLE = "motorcycle", "Motorcycle"


class ChargerStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    IN_USE = "in_use", "In use"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


class SpotStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MAINTENANCE = "maintenance", "Maintenance"
    INACTIVE = "inactive", "Inactive"


class Spot(models.Model):
    """One parking space. ``facility`` and ``organization`` are denormalised from the zone for
    indexed tenant scoping and availability queries; the services keep them consistent."""

    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="spots")
    # No single-column index: spot_availability_idx (facility, status, size, category) serves it.
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="spots", editable=False, db_index=False
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)
    code = models.CharField(max_length=20, help_text="Unique within the facility, e.g. A-101.")
    size = models.CharField(max_length=8, choices=SpotSize.choices, default=SpotSize.MEDIUM)
    category = models.CharField(max_length=12, choices=SpotCategory.choices, default=SpotCategory.STANDARD)
    has_ev_charger = models.BooleanField(default=False)
    ev_charger_status = models.CharField(max_length=16, choices=ChargerStatus.choices, blank=True)
    is_accessible = models.BooleanField(default=False)
    is_covered = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=SpotStatus.choices, default=SpotStatus.ACTIVE)
    grid_row = models.PositiveSmallIntegerField(null=True, blank=True)
    grid_column = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("facility_id", "code")
        constraints = (
            models.UniqueConstraint(fields=("facility", "code"), name="spot_facility_code_unique"),
            models.CheckConstraint(
                condition=models.Q(has_ev_charger=True) | models.Q(ev_charger_status=""),
                name="spot_charger_status_needs_charger",
            ),
        )
        indexes = (models.Index(fields=("facility", "status", "size", "category"), name="spot_availability_idx"),)

    def __str__(self) -> str:
        return self.code


class BlockReason(models.TextChoices):
    MAINTENANCE = "maintenance", "Maintenance"
    OWNER_BLOCKED = "owner_blocked", "Blocked by owner"
    EVENT = "event", "Event"


class SpotBlock(models.Model):
    """Takes a spot, a zone or a whole facility out of booking for ``[start, end)``.

    Scope: ``spot`` set → that spot; else ``zone`` set → every spot of the zone; else the facility.
    Existing bookings stay valid; new ones are refused.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False)
    # No single-column index: spotblock_facility_window (facility, end, start) serves it.
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="blocks", db_index=False)
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, null=True, blank=True, related_name="blocks")
    spot = models.ForeignKey(Spot, on_delete=models.CASCADE, null=True, blank=True, related_name="blocks")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=16, choices=BlockReason.choices, default=BlockReason.MAINTENANCE)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("start", "id")
        constraints = (
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="spotblock_start_before_end"),
        )
        indexes = (models.Index(fields=("facility", "end", "start"), name="spotblock_facility_window"),)

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"


class FacilityPhoto(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="facility-photos/%Y/%m/")
    content_type = models.CharField(max_length=32)
    caption = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("facility_id", "position", "id")

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.facility_id}"
