from typing import Any

from rest_framework import serializers

from app.api.fields import AwareDateTimeField
from bookings.models import Booking, IssueKind, IssueOutcome


class BookingCreateInputSerializer(serializers.Serializer):
    spot = serializers.IntegerField(required=False, help_text="Book this spot; or give a facility.")
    facility = serializers.IntegerField(required=False, help_text="The platform picks the best-fit free spot.")
    zone = serializers.IntegerField(required=False, help_text="With facility: pick within this zone.")
    vehicle = serializers.UUIDField(help_text="One of your vehicles.")
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    quote_id = serializers.UUIDField(required=False, help_text="Charge exactly this unexpired, matching quote.")
    promo_code = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("spot") and not attrs.get("facility"):
            raise serializers.ValidationError({"facility": "Give a spot or a facility."}, code="required")
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": "The end must be after the start."}, code="invalid_window")
        return attrs


class BookingOutputSerializer(serializers.ModelSerializer[Booking]):
    quote = serializers.SerializerMethodField()
    spot_code = serializers.CharField(source="spot.code", read_only=True)
    zone_name = serializers.CharField(source="zone.name", read_only=True)
    facility_name = serializers.CharField(source="facility.name", read_only=True)
    plate = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The booked vehicle's plate (normalised); your own or your organization's.",
    )

    class Meta:
        model = Booking
        fields = (
            "id",
            "reference",
            "kind",
            "status",
            "facility",
            "facility_name",
            "zone",
            "zone_name",
            "spot",
            "spot_code",
            "vehicle",
            "vehicle_type",
            "plate",
            "start",
            "end",
            "checked_in_at",
            "checked_out_at",
            "currency",
            "parking_amount",
            "discount_amount",
            "service_fee",
            "transaction_fee",
            "total",
            "promo_code",
            "quote",
            "access_code",
            "hold_expires_at",
            "cancellation_reason",
            "refund_amount",
            "created_at",
        )
        read_only_fields = fields

    def get_quote(self, booking: Booking) -> dict[str, Any]:
        return {"id": str(booking.quote_id) if booking.quote_id else None, **booking.quote_snapshot}


class CancellationPreviewOutputSerializer(serializers.Serializer):
    refund_amount = serializers.IntegerField(help_text="Minor units refunded if cancelled now.")
    kept_amount = serializers.IntegerField(help_text="Minor units kept (late fee and platform fees).")
    free = serializers.BooleanField(help_text="Inside the free-cancellation window.")
    currency = serializers.CharField()


class BookingCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BookingCancelOutputSerializer(serializers.Serializer):
    booking = BookingOutputSerializer()
    refund_amount = serializers.IntegerField()


class BookingExtendInputSerializer(serializers.Serializer):
    end = AwareDateTimeField(help_text="The new end (later than the current one).")


class ExtensionQuoteOutputSerializer(serializers.Serializer):
    new_end = serializers.DateTimeField()
    parking_amount = serializers.IntegerField(help_text="Extra parking, minor units.")
    service_fee = serializers.IntegerField()
    transaction_fee = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Extra charge, minor units.")


class BookingExtendOutputSerializer(serializers.Serializer):
    booking = BookingOutputSerializer()
    extension = ExtensionQuoteOutputSerializer()


class ReportIssueInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IssueKind.choices)
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class ReportIssueOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=IssueKind.choices)
    outcome = serializers.ChoiceField(
        choices=IssueOutcome.choices,
        help_text="`moved` (to `booking.spot`), `cancelled` (with a full refund) or `reported` (staff follow up).",
    )
    booking = BookingOutputSerializer()
