import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper

from accounts.models import Organization
from parking.models import Facility, Spot, SpotCategory, Zone
from vehicles.models import Vehicle, VehicleType


class Strategy(models.TextChoices):
    FLAT = "flat", "Flat"
    HOURLY = "hourly", "Hourly"
    TIERED = "tiered", "Tiered hourly"
    SLAB = "slab", "Slab"
    DAILY = "daily", "Daily"
    TIME_OF_DAY = "time_of_day", "Time of day"


class PricingRule(models.Model):
    """A price for a facility, a zone or a spot, as a JSON strategy config (pricing/schemas.py).

    The rule that prices a stay is the most specific scope (spot, then zone, then facility), then the
    highest ``priority``, then the newest. Empty ``vehicle_types``/``spot_categories`` mean "all".
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="pricing_rules")
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, null=True, blank=True, related_name="pricing_rules")
    spot = models.ForeignKey(Spot, on_delete=models.CASCADE, null=True, blank=True, related_name="pricing_rules")
    name = models.CharField(max_length=120)
    vehicle_types = ArrayField(models.CharField(max_length=16, choices=VehicleType.choices), default=list, blank=True)
    spot_categories = ArrayField(
        models.CharField(max_length=12, choices=SpotCategory.choices), default=list, blank=True
    )
    priority = models.IntegerField(default=0)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    strategy = models.CharField(max_length=16, choices=Strategy.choices)
    config = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("facility_id", "-priority", "-created_at", "-id")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_from__lt=models.F("valid_until")),
                name="pricingrule_valid_window",
            ),
        )
        indexes = (models.Index(fields=("facility", "is_active"), name="pricingrule_facility_active"),)

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        return "spot" if self.spot_id else "zone" if self.zone_id else "facility"


class FeePolicy(models.Model):
    """Platform fees for one organization; edited by platform admins only (admin). Without a row the
    defaults apply: 10 % service fee and 50 minor units transaction fee."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="fee_policy")
    service_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    transaction_fee = models.PositiveIntegerField(default=50, help_text="Minor units per paid booking.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "fee policies"

    def __str__(self) -> str:
        return f"{self.service_fee_percent} % + {self.transaction_fee}"


class PassPeriod(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class PassProduct(models.Model):
    """A subscription a facility sells (e.g. "Weekday commuter, monthly")."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="pass_products")
    name = models.CharField(max_length=120)
    period = models.CharField(max_length=8, choices=PassPeriod.choices)
    price = models.PositiveIntegerField(help_text="Minor units per period.")
    vehicle_types = ArrayField(models.CharField(max_length=16, choices=VehicleType.choices), default=list, blank=True)
    valid_weekdays = ArrayField(
        models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)]),
        default=list,
        blank=True,
        help_text="Monday = 0; empty = every day.",
    )
    valid_start_time = models.TimeField(null=True, blank=True, help_text="Local time; empty = from midnight.")
    valid_end_time = models.TimeField(null=True, blank=True, help_text="Local time; empty = until midnight.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("facility_id", "name", "id")

    def __str__(self) -> str:
        return self.name


class PassStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class Pass(models.Model):
    product = models.ForeignKey(PassProduct, on_delete=models.PROTECT, related_name="passes")
    driver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passes")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="passes")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=16, choices=PassStatus.choices, default=PassStatus.PENDING_PAYMENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "passes"
        ordering = ("-valid_from", "-id")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(valid_from__lt=models.F("valid_until")), name="pass_valid_window"
            ),
        )
        indexes = (models.Index(fields=("driver", "status", "valid_until"), name="pass_driver_status"),)

    def __str__(self) -> str:
        return f"{self.product} for {self.driver_id}"


class DiscountKind(models.TextChoices):
    PERCENT = "percent", "Percent off parking"
    FIXED = "fixed", "Fixed amount off parking"


class Discount(models.Model):
    """A validation / promo code. Redemptions are counted when a booking is confirmed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="discounts")
    code = models.CharField(max_length=40, help_text="Case-insensitive, unique in the organization.")
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=8, choices=DiscountKind.choices)
    percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    amount = models.PositiveIntegerField(null=True, blank=True, help_text="Minor units (fixed kind).")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True, help_text="Total; empty = unlimited.")
    max_redemptions_per_user = models.PositiveIntegerField(null=True, blank=True)
    min_duration_minutes = models.PositiveIntegerField(default=0)
    facilities = models.ManyToManyField(Facility, blank=True, related_name="discounts", help_text="Empty = all.")
    redemption_count = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("organization_id", "code")
        constraints = (
            models.UniqueConstraint(Upper("code"), "organization", name="discount_org_code_ci_unique"),
            models.CheckConstraint(
                condition=(models.Q(kind="percent", percent__isnull=False, amount__isnull=True))
                | models.Q(kind="fixed", amount__isnull=False, percent__isnull=True),
                name="discount_kind_value",
            ),
            models.CheckConstraint(
                condition=models.Q(max_redemptions__isnull=True)
                | models.Q(redemption_count__lte=models.F("max_redemptions")),
                name="discount_redemptions_within_limit",
            ),
        )

    def __str__(self) -> str:
        return self.code


class DiscountRedemption(models.Model):
    discount = models.ForeignKey(Discount, on_delete=models.PROTECT, related_name="redemptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=64, help_text="What it was redeemed for (a booking reference).")
    amount = models.PositiveIntegerField(help_text="Minor units taken off.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("discount", "reference"), name="discount_redemption_once_per_reference"),
        )

    def __str__(self) -> str:
        return f"{self.discount_id} for {self.reference}"


class Quote(models.Model):
    """An itemised, stored price for one window; bookings charge exactly a quote's total."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    zone = models.ForeignKey(Zone, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    spot = models.ForeignKey(Spot, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="quotes"
    )
    vehicle = models.ForeignKey(Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    vehicle_type = models.CharField(max_length=16, choices=VehicleType.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    currency = models.CharField(max_length=3)
    parking_amount = models.PositiveIntegerField()
    discount_amount = models.PositiveIntegerField(default=0)
    service_fee = models.PositiveIntegerField()
    transaction_fee = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    owner_payout = models.PositiveIntegerField()
    platform_revenue = models.PositiveIntegerField()
    duration_minutes = models.PositiveIntegerField()
    applied_rule = models.ForeignKey(PricingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    applied_rule_name = models.CharField(max_length=120)
    subscription_used = models.BooleanField(default=False)
    discount = models.ForeignKey(Discount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    promo_code = models.CharField(max_length=40, blank=True)
    line_items = models.JSONField(default=list)
    explanation = models.TextField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(
                    total=models.F("parking_amount")
                    - models.F("discount_amount")
                    + models.F("service_fee")
                    + models.F("transaction_fee")
                ),
                name="quote_total_adds_up",
            ),
            models.CheckConstraint(
                condition=models.Q(total=models.F("owner_payout") + models.F("platform_revenue")),
                name="quote_split_adds_up",
            ),
        )
        indexes = (models.Index(fields=("expires_at",), name="quote_expires"),)

    def __str__(self) -> str:
        return f"Quote {self.pk}"
