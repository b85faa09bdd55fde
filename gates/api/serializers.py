from typing import Any

from rest_framework import serializers

from gates.models import CommandKind, Decision, EventKind, Gate, GateCommand, GateEvent, ManualReview


class DecisionInputSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=64, help_text="The device's own unique id for this event.")
    occurred_at = serializers.DateTimeField(help_text="Device time, ISO 8601 with offset.")
    qr_code = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    license_plate = serializers.CharField(required=False, allow_blank=True, max_length=32)
    confidence = serializers.DecimalField(
        required=False, allow_null=True, max_digits=4, decimal_places=3, min_value=0, max_value=1
    )
    booking_reference = serializers.CharField(required=False, allow_blank=True, max_length=16)
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=16)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("qr_code", "license_plate", "booking_reference", "ticket") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                "Send exactly one of qr_code, license_plate, booking_reference, ticket.", code="one_credential"
            )
        return attrs


class DecisionBookingSerializer(serializers.Serializer):
    reference = serializers.CharField()
    spot = serializers.CharField(source="spot.code")
    zone = serializers.CharField(source="zone.name")


class DecisionOutputSerializer(serializers.ModelSerializer[GateEvent]):
    booking = DecisionBookingSerializer(allow_null=True)
    open_seconds = serializers.IntegerField(source="gate.open_seconds")
    payment = serializers.UUIDField(source="payment_id", allow_null=True, help_text="What to pay at the booth.")

    class Meta:
        model = GateEvent
        fields = (
            "event_id",
            "decision",
            "reason_code",
            "message",
            "booking",
            "amount_due",
            "payment",
            "open_seconds",
            "offline",
        )
        read_only_fields = fields


class GateConfigSerializer(serializers.ModelSerializer[Gate]):
    facility_timezone = serializers.CharField(source="facility.timezone")

    class Meta:
        model = Gate
        fields = (
            "id",
            "facility",
            "facility_timezone",
            "name",
            "lane",
            "direction",
            "accepted_credentials",
            "status",
            "open_seconds",
            "anti_passback",
            "plate_confidence_threshold",
            "allow_drive_in",
        )
        read_only_fields = fields


class CommandOutputSerializer(serializers.ModelSerializer[GateCommand]):
    class Meta:
        model = GateCommand
        fields = ("id", "kind", "reason", "created_at")
        read_only_fields = fields


class PollOutputSerializer(serializers.Serializer):
    server_time = serializers.DateTimeField()
    config = GateConfigSerializer()
    commands = CommandOutputSerializer(many=True)


class PollInputSerializer(serializers.Serializer):
    software_version = serializers.CharField(required=False, allow_blank=True, max_length=40)


class GateInputSerializer(serializers.ModelSerializer[Gate]):
    class Meta:
        model = Gate
        fields = (
            "facility",
            "name",
            "lane",
            "direction",
            "accepted_credentials",
            "open_seconds",
            "anti_passback",
            "plate_confidence_threshold",
            "allow_drive_in",
        )


class GateOutputSerializer(GateConfigSerializer):
    offline_since = serializers.DateTimeField(
        read_only=True, allow_null=True, default=None, help_text="Start of the current outage (status board)."
    )

    class Meta:
        model = Gate
        fields = (*GateConfigSerializer.Meta.fields, "last_seen_at", "software_version", "offline_since", "created_at")
        read_only_fields = fields


class GateKeyOutputSerializer(serializers.Serializer):
    gate = GateOutputSerializer()
    key = serializers.CharField(help_text="Shown once: `Authorization: Gate <key>`. Only its hash is stored.")


class CommandInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CommandKind.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class SnapshotQuerySerializer(serializers.Serializer):
    since = serializers.IntegerField(required=False, min_value=0, help_text="A previous snapshot's `version`.")


class SnapshotOutputSerializer(serializers.Serializer):
    data = serializers.DictField(  # type: ignore[assignment]  # the field shadows Serializer.data
        help_text=(
            "`{facility, timezone, gate, anti_passback, version, since, full, generated_at, valid_until, "
            "bookings: [{reference, kind, status, plate_index, entry_from, start, end, spot, zone}], "
            "removed: [reference], passes: [{id, plate_indexes, valid_from, valid_until, weekdays, start_time, "
            "end_time}], credential_keys: JWK set}`"
        )
    )
    kid = serializers.CharField()
    signature = serializers.CharField(help_text="Ed25519 over the canonical JSON of `data` (sorted keys, no spaces).")


class OfflineEventSerializer(DecisionInputSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    decision = serializers.ChoiceField(choices=Decision.choices, help_text="What the gate did.")
    reason_code = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")


class EventBatchInputSerializer(serializers.Serializer):
    events = OfflineEventSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]


class EventAckSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    status = serializers.ChoiceField(choices=("applied", "flagged", "duplicate"))
    decision = serializers.CharField()
    reason_code = serializers.CharField()


class EventBatchOutputSerializer(serializers.Serializer):
    results = EventAckSerializer(many=True)


class GateEventOutputSerializer(serializers.ModelSerializer[GateEvent]):
    gate_name = serializers.CharField(source="gate.name")
    booking = DecisionBookingSerializer(allow_null=True)

    class Meta:
        model = GateEvent
        fields = (
            "id",
            "gate",
            "gate_name",
            "event_id",
            "kind",
            "occurred_at",
            "received_at",
            "credential_type",
            "plate_confidence",
            "booking",
            "decision",
            "reason_code",
            "message",
            "offline",
            "flagged",
            "amount_due",
            "payment",
        )
        read_only_fields = fields


class ReviewOutputSerializer(serializers.ModelSerializer[ManualReview]):
    event = GateEventOutputSerializer()

    class Meta:
        model = ManualReview
        fields = ("id", "reason", "status", "note", "created_at", "resolved_at", "resolved_by", "event")
        read_only_fields = fields


class ReviewResolveInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
