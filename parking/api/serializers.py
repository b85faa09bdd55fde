"""Input and output serializers for inventory and search (names unique for the OpenAPI schema)."""

from typing import Any

from rest_framework import serializers

from app.api.fields import AwareDateTimeField
from parking.models import (
    FACILITY_POLICY_FIELDS,
    BlockReason,
    ChargerStatus,
    EarlyExitRefund,
    Facility,
    FacilityKind,
    Spot,
    SpotBlock,
    SpotCategory,
    SpotSize,
    SpotStatus,
    Zone,
    ZoneKind,
)
from vehicles.models import VehicleType

OPERATING_HOURS_HELP = (
    'Either {"always_open": true} or {"always_open": false, "weekly": {"0": [["08:00", "20:00"]], …, "6": []}} '
    "with weekdays counted from Monday = 0 and [open, close) intervals in the facility's local time "
    '("24:00" closes at midnight).'
)

ADDRESS_FIELDS = ("address_line", "city", "region", "postal_code", "country")
AMENITY_FIELDS = ("is_covered", "has_ev_charging", "has_security", "has_lighting", "is_accessible")
DRIVER_POLICY_FIELDS = FACILITY_POLICY_FIELDS


class ReviewAggregateFields(serializers.Serializer):
    """The review aggregates under their public names (kept by the reviews app)."""

    average_rating = serializers.DecimalField(
        source="rating_average",
        max_digits=3,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="Average of the visible reviews (2 places, half-up); null without reviews.",
    )
    review_count = serializers.IntegerField(source="rating_count", read_only=True, help_text="Visible reviews.")


class FacilityPublicOutputSerializer(ReviewAggregateFields, serializers.ModelSerializer[Facility]):
    """What drivers see: no internal fields, but every policy the driver agrees to when booking."""

    class Meta:
        model = Facility
        fields: tuple[str, ...] = (
            "id",
            "name",
            "slug",
            "kind",
            "description",
            *ADDRESS_FIELDS,
            "latitude",
            "longitude",
            "timezone",
            "currency",
            "operating_hours",
            *AMENITY_FIELDS,
            *DRIVER_POLICY_FIELDS,
            "rating_average",
            "rating_count",
            "average_rating",
            "review_count",
        )
        read_only_fields: tuple[str, ...] = fields


class WindowPriceSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True, help_text="What the driver pays, fees included (minor units).")
    parking_amount = serializers.IntegerField(allow_null=True, help_text="Parking before fees (minor units).")
    currency = serializers.CharField()


class FacilitySearchOutputSerializer(FacilityPublicOutputSerializer):
    distance_km = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Great-circle distance from lat/lng (null without a point)."
    )
    available_spots = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Free spots for the window and vehicle (null without a window)."
    )
    price = WindowPriceSerializer(
        read_only=True,
        allow_null=True,
        help_text="The facility-wide price for the window (null without a window; totals null if unpriced).",
    )

    class Meta(FacilityPublicOutputSerializer.Meta):
        fields = (*FacilityPublicOutputSerializer.Meta.fields, "distance_km", "available_spots", "price")
        read_only_fields = fields

    def to_representation(self, instance: Facility) -> dict[str, Any]:
        data = super().to_representation(instance)
        distance = getattr(instance, "distance_km", None)
        data["distance_km"] = round(distance, 3) if distance is not None else None
        data["available_spots"] = getattr(instance, "available_spots", None)
        price = getattr(instance, "price", None)
        data["price"] = WindowPriceSerializer(price).data if price is not None else None
        return data


class FacilityManagedOutputSerializer(ReviewAggregateFields, serializers.ModelSerializer[Facility]):
    """Owners' and staff's view: everything, including publication state."""

    class Meta:
        model = Facility
        fields = (
            *FacilityPublicOutputSerializer.Meta.fields,
            "organization",
            "access_instructions",
            "is_published",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class FacilityInputSerializer(serializers.Serializer):
    """Create (all required fields) or update (partial) a facility."""

    organization = serializers.UUIDField(help_text="Create only: the owning organization (you must be owner/manager).")
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80, required=False)
    kind = serializers.ChoiceField(choices=FacilityKind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    address_line = serializers.CharField(max_length=255)
    city = serializers.CharField(max_length=120)
    region = serializers.CharField(max_length=120, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2.")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)
    timezone = serializers.CharField(max_length=64, help_text="IANA time zone, e.g. America/New_York.")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text="ISO 4217; default: organization's.")
    operating_hours = serializers.JSONField(required=False, help_text=OPERATING_HOURS_HELP)
    is_covered = serializers.BooleanField(required=False)
    has_ev_charging = serializers.BooleanField(required=False)
    has_security = serializers.BooleanField(required=False)
    has_lighting = serializers.BooleanField(required=False)
    is_accessible = serializers.BooleanField(required=False)
    access_instructions = serializers.CharField(required=False, allow_blank=True)
    is_published = serializers.BooleanField(required=False)
    reservation_grace_minutes = serializers.IntegerField(required=False, min_value=0, max_value=24 * 60)
    early_checkin_minutes = serializers.IntegerField(required=False, min_value=0, max_value=24 * 60)
    min_booking_minutes = serializers.IntegerField(required=False, min_value=1)
    max_booking_minutes = serializers.IntegerField(required=False, min_value=1)
    requires_prepayment = serializers.BooleanField(required=False)
    free_cancellation_minutes = serializers.IntegerField(required=False, min_value=0)
    late_cancellation_fee_percent = serializers.IntegerField(required=False, min_value=0, max_value=100)
    early_exit_refund = serializers.ChoiceField(choices=EarlyExitRefund.choices, required=False)
    early_exit_minimum_fee = serializers.IntegerField(required=False, min_value=0, help_text="Minor units.")
    no_show_fee_percent = serializers.IntegerField(required=False, min_value=0, max_value=100)
    overstay_grace_minutes = serializers.IntegerField(required=False, min_value=0)
    overstay_rate_per_hour = serializers.IntegerField(required=False, min_value=0, help_text="Minor units.")


class ZoneOutputSerializer(serializers.ModelSerializer[Zone]):
    spot_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Zone
        fields = ("id", "facility", "name", "level", "kind", "display_order", "spot_count", "created_at", "updated_at")
        read_only_fields = fields


class ZoneInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField(help_text="Create only.")
    name = serializers.CharField(max_length=100)
    level = serializers.IntegerField(required=False, min_value=-20, max_value=200)
    kind = serializers.ChoiceField(choices=ZoneKind.choices, required=False)
    display_order = serializers.IntegerField(required=False, min_value=0)


class SpotOutputSerializer(serializers.ModelSerializer[Spot]):
    class Meta:
        model = Spot
        fields: tuple[str, ...] = (
            "id",
            "facility",
            "zone",
            "code",
            "size",
            "category",
            "has_ev_charger",
            "ev_charger_status",
            "is_accessible",
            "is_covered",
            "status",
            "grid_row",
            "grid_column",
        )
        read_only_fields: tuple[str, ...] = fields


class SpotAvailableOutputSerializer(SpotOutputSerializer):
    price = WindowPriceSerializer(read_only=True, allow_null=True, help_text="This spot's price for the window.")

    class Meta(SpotOutputSerializer.Meta):
        fields = (*SpotOutputSerializer.Meta.fields, "price")
        read_only_fields = fields

    def to_representation(self, instance: Spot) -> dict[str, Any]:
        data = super().to_representation(instance)
        price = getattr(instance, "price", None)
        data["price"] = WindowPriceSerializer(price).data if price is not None else None
        return data


class SpotDetailOutputSerializer(SpotOutputSerializer):
    current_status = serializers.ChoiceField(
        choices=["available", "reserved", "occupied", "maintenance"],
        read_only=True,
        help_text="Computed now from spot status, blocks and bookings.",
    )
    zone_name = serializers.CharField(source="zone.name", read_only=True)

    class Meta(SpotOutputSerializer.Meta):
        fields = (*SpotOutputSerializer.Meta.fields, "zone_name", "current_status")
        read_only_fields = fields


class SpotFieldsSerializer(serializers.Serializer):
    size = serializers.ChoiceField(choices=SpotSize.choices, required=False)
    category = serializers.ChoiceField(choices=SpotCategory.choices, required=False)
    has_ev_charger = serializers.BooleanField(required=False)
    ev_charger_status = serializers.ChoiceField(choices=ChargerStatus.choices, required=False, allow_blank=True)
    is_accessible = serializers.BooleanField(required=False)
    is_covered = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=SpotStatus.choices, required=False)
    grid_row = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10_000)
    grid_column = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10_000)


class SpotInputSerializer(SpotFieldsSerializer):
    zone = serializers.IntegerField(help_text="The zone (create), or a zone of the same facility to move to.")
    code = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$", help_text="Unique in the facility, e.g. A-101.")


class SpotBulkCreateInputSerializer(SpotFieldsSerializer):
    zone = serializers.IntegerField()
    prefix = serializers.RegexField(r"^[A-Za-z0-9_.-]{0,10}$", allow_blank=True, help_text="e.g. A-")
    first_number = serializers.IntegerField(min_value=0, max_value=999_999)
    last_number = serializers.IntegerField(min_value=0, max_value=999_999)
    width = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=6, help_text="Zero-pad numbers to this width."
    )


class SpotBulkStatusInputSerializer(serializers.Serializer):
    spot_ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=1000)
    status = serializers.ChoiceField(choices=SpotStatus.choices)


class SpotBulkStatusOutputSerializer(serializers.Serializer):
    changed = serializers.IntegerField()
    spots = SpotOutputSerializer(many=True)


class BlockOutputSerializer(serializers.ModelSerializer[SpotBlock]):
    scope = serializers.SerializerMethodField()

    class Meta:
        model = SpotBlock
        fields: tuple[str, ...] = (
            "id",
            "facility",
            "zone",
            "spot",
            "scope",
            "start",
            "end",
            "reason",
            "note",
            "created_at",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_scope(self, block: SpotBlock) -> str:
        return "spot" if block.spot_id else "zone" if block.zone_id else "facility"


class OverlappingBookingSerializer(serializers.Serializer):
    id = serializers.CharField()
    reference = serializers.CharField()
    spot = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.CharField()


class BlockWithOverlapsOutputSerializer(BlockOutputSerializer):
    overlapping_bookings = OverlappingBookingSerializer(
        many=True, read_only=True, help_text="Existing bookings inside the block; they stay valid."
    )

    class Meta(BlockOutputSerializer.Meta):
        fields = (*BlockOutputSerializer.Meta.fields, "overlapping_bookings")
        read_only_fields = fields


class BlockInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField(help_text="Create only.")
    zone = serializers.IntegerField(required=False, allow_null=True, help_text="Block a whole zone.")
    spot = serializers.IntegerField(required=False, allow_null=True, help_text="Block one spot.")
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    reason = serializers.ChoiceField(choices=BlockReason.choices, default=BlockReason.MAINTENANCE)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WindowQuerySerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="ISO 8601 with offset.")
    end = AwareDateTimeField(help_text="ISO 8601 with offset; the window is [start, end).")
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices, required=False)
    is_ev = serializers.BooleanField(required=False, default=False, help_text="The vehicle is electric.")
    needs_ev = serializers.BooleanField(required=False, default=False, help_text="Needs a working charger.")
    needs_accessible = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": "The end must be after the start."}, code="invalid_window")
        return attrs


class SpotAvailableQuerySerializer(WindowQuerySerializer):
    facility = serializers.IntegerField()
    zone = serializers.IntegerField(required=False)


class FacilitySearchQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, min_value=-180, max_value=180)
    radius_km = serializers.FloatField(required=False, min_value=0.01, max_value=50, help_text="At most 50 km.")
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices, required=False)
    is_ev = serializers.BooleanField(required=False, allow_null=True, default=None)
    has_ev_charging = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_covered = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_accessible = serializers.BooleanField(required=False, allow_null=True, default=None)
    city = serializers.CharField(required=False, max_length=120)
    ordering = serializers.ChoiceField(
        choices=["distance", "price", "rating", "name", "-name"],
        required=False,
        help_text=(
            "`price` needs start and end (cheapest first; unpriced last); `rating` is best rated first "
            "(unrated last). Default: distance with lat/lng, else name."
        ),
    )
    organization = serializers.UUIDField(required=False, help_text="Managed view: that organization's facilities.")
    mine = serializers.BooleanField(required=False, default=False, help_text="Managed view: all my facilities.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lat" in attrs) != ("lng" in attrs):
            raise serializers.ValidationError({"lng" if "lat" in attrs else "lat": "Give lat and lng together."})
        if "radius_km" in attrs and "lat" not in attrs:
            raise serializers.ValidationError({"lat": "radius_km needs lat and lng."})
        if ("start" in attrs) != ("end" in attrs):
            raise serializers.ValidationError({"end" if "start" in attrs else "start": "Give start and end together."})
        if "start" in attrs and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": "The end must be after the start."})
        if attrs.get("ordering") == "distance" and "lat" not in attrs:
            raise serializers.ValidationError({"ordering": "Ordering by distance needs lat and lng."})
        if attrs.get("ordering") == "price" and "start" not in attrs:
            raise serializers.ValidationError({"ordering": "Ordering by price needs start and end."})
        return attrs


class ZoneAvailabilitySerializer(serializers.Serializer):
    zone_id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    available = serializers.IntegerField()


class FacilityAvailabilityOutputSerializer(serializers.Serializer):
    facility = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    is_open = serializers.BooleanField()
    total_available = serializers.IntegerField()
    by_zone = ZoneAvailabilitySerializer(many=True)
    by_category = serializers.DictField(child=serializers.IntegerField())
