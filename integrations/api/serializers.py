from rest_framework import serializers

from app.events import EVENT_TYPES
from integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="https only.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, help_text="Events to receive."
    )
    is_active = serializers.BooleanField(required=False)


class EndpointOutputSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = ("id", "url", "description", "event_types", "is_active", "created_at", "updated_at")


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    """Creation and secret rotation answer the signing secret (keep it; verify deliveries with it)."""

    class Meta(EndpointOutputSerializer.Meta):
        fields = (*EndpointOutputSerializer.Meta.fields, "secret")


class AttemptOutputSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ("attempted_at", "status_code", "error", "duration_ms")


class DeliveryOutputSerializer(serializers.ModelSerializer[WebhookDelivery]):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_log = AttemptOutputSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "payload",
            "attempt_log",
        )
