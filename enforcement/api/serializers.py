from rest_framework import serializers

from enforcement.models import CheckOutcome


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
