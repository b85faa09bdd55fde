from rest_framework import serializers

from enforcement.models import (
    CheckOutcome,
    Dispute,
    DisputeStatus,
    EvidenceKind,
    Violation,
    ViolationEvidence,
    ViolationKind,
    ViolationStatus,
)


class CheckInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField()
    license_plate = serializers.CharField(max_length=32)


class CheckOutputSerializer(serializers.Serializer):
    check_id = serializers.IntegerField(source="check.pk")
    allowed = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=CheckOutcome.choices)
    valid_until = serializers.DateTimeField(allow_null=True, help_text="Grace included; null for sessions.")
    booking = serializers.CharField(source="booking.reference", allow_null=True, default=None)
    checked_at = serializers.DateTimeField(source="check.checked_at")


class ViolationIssueInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ViolationKind.choices)
    license_plate = serializers.CharField(max_length=32, required=False, help_text="Or `check`.")
    check = serializers.IntegerField(required=False, help_text="An enforcement check at this facility (its plate).")
    booking = serializers.CharField(max_length=16, required=False, help_text="A booking reference at this facility.")
    spot = serializers.IntegerField(required=False, help_text="A spot of this facility.")
    fine_amount = serializers.IntegerField(
        required=False, min_value=0, max_value=10_000_000, help_text="Minor units; default: the policy's fine."
    )
    notes = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("license_plate") and not attrs.get("check"):
            raise serializers.ValidationError({"license_plate": "Give a licence plate or an enforcement check."})
        return attrs


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class EvidenceInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    photo = serializers.ImageField(required=False, help_text="JPEG/PNG, multipart upload.")
    gate_event = serializers.UUIDField(required=False, help_text="A gate event id (from the gate event log).")

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("note") or attrs.get("photo") or attrs.get("gate_event")):
            raise serializers.ValidationError({"note": "Give a note, a photo or a gate event."})
        return attrs


class EvidenceOutputSerializer(serializers.ModelSerializer[ViolationEvidence]):
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)

    class Meta:
        model = ViolationEvidence
        fields = ("id", "kind", "note", "photo", "gate_event_id", "created_at")


class DisputeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    evidence = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
    evidence_file = serializers.FileField(required=False, help_text="A photo or document, multipart upload.")


class DisputeOutputSerializer(serializers.ModelSerializer[Dispute]):
    status = serializers.ChoiceField(choices=DisputeStatus.choices)

    class Meta:
        model = Dispute
        fields = (
            "id",
            "violation",
            "status",
            "reason",
            "evidence",
            "evidence_file",
            "decision_note",
            "created_at",
            "decided_at",
        )


class DisputeResolveInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=(("uphold", "uphold"), ("cancel", "cancel")))
    note = serializers.CharField(max_length=1000)


class ViolationOutputSerializer(serializers.ModelSerializer[Violation]):
    number = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=ViolationKind.choices)
    status = serializers.ChoiceField(choices=ViolationStatus.choices)
    facility_name = serializers.CharField(source="facility.name")
    spot_code = serializers.CharField(source="spot.code", allow_null=True, default=None)
    booking = serializers.CharField(source="booking.reference", allow_null=True, default=None)
    fine_amount = serializers.IntegerField(help_text="Minor units of `currency`.")
    payment = serializers.UUIDField(source="payment_id", allow_null=True, help_text="The fine's payment request.")
    evidence = EvidenceOutputSerializer(many=True)
    disputes = DisputeOutputSerializer(many=True)

    class Meta:
        model = Violation
        fields = (
            "id",
            "number",
            "kind",
            "status",
            "facility",
            "facility_name",
            "spot_code",
            "booking",
            "fine_amount",
            "currency",
            "notes",
            "issued_at",
            "due_date",
            "payment",
            "escalated_at",
            "resolved_at",
            "resolution_note",
            "evidence",
            "disputes",
        )

    def get_number(self, obj: Violation) -> str:
        return f"V-{obj.pk}"
