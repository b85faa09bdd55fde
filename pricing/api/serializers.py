from typing import Any

from rest_framework import serializers

from app.api.fields import AwareDateTimeField
from parking.models import SpotCategory
from pricing.models import Discount, DiscountKind, Pass, PassPeriod, PassProduct, PricingRule, Quote, Strategy
from vehicles.models import VehicleType

CONFIG_HELP = (
    "The strategy's JSON config, validated against its JSON Schema (docs/pricing.md). An invalid key is "
    "a 400 whose `attr` is the JSON path, e.g. `config.slabs[1].price`."
)


class RuleOutputSerializer(serializers.ModelSerializer[PricingRule]):
    scope = serializers.CharField(read_only=True)

    class Meta:
        model = PricingRule
        fields = (
            "id",
            "facility",
            "zone",
            "spot",
            "scope",
            "name",
            "strategy",
            "config",
            "vehicle_types",
            "spot_categories",
            "priority",
            "valid_from",
            "valid_until",
            "is_active",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class RuleInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField(help_text="Create only.")
    zone = serializers.IntegerField(required=False, allow_null=True, help_text="Create only: zone scope.")
    spot = serializers.IntegerField(required=False, allow_null=True, help_text="Create only: spot scope.")
    name = serializers.CharField(max_length=120)
    strategy = serializers.ChoiceField(choices=Strategy.choices)
    config = serializers.JSONField(help_text=CONFIG_HELP)
    vehicle_types = serializers.ListField(
        child=serializers.ChoiceField(choices=VehicleType.choices), required=False, help_text="Empty = all."
    )
    spot_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=SpotCategory.choices), required=False, help_text="Empty = all."
    )
    priority = serializers.IntegerField(required=False, min_value=-1000, max_value=1000)
    valid_from = AwareDateTimeField(required=False, allow_null=True)
    valid_until = AwareDateTimeField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)


class QuoteInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField(required=False, help_text="Give a facility or a spot.")
    spot = serializers.IntegerField(required=False)
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices, required=False, help_text="Or `vehicle`.")
    vehicle = serializers.UUIDField(required=False, help_text="One of your vehicles (needs login).")
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    promo_code = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("facility") and not attrs.get("spot"):
            raise serializers.ValidationError({"facility": "Give a facility or a spot."}, code="required")
        if not attrs.get("vehicle_type") and not attrs.get("vehicle"):
            raise serializers.ValidationError({"vehicle_type": "Give a vehicle_type or a vehicle."}, code="required")
        return attrs


class LineItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units; negative for caps and reductions.")


class QuoteOutputSerializer(serializers.ModelSerializer[Quote]):
    applied_rule = serializers.CharField(source="applied_rule_name", read_only=True)
    line_items = LineItemSerializer(many=True, read_only=True)

    class Meta:
        model = Quote
        fields = (
            "id",
            "facility",
            "spot",
            "vehicle_type",
            "start",
            "end",
            "currency",
            "parking_amount",
            "discount_amount",
            "service_fee",
            "transaction_fee",
            "total",
            "owner_payout",
            "platform_revenue",
            "duration_minutes",
            "applied_rule",
            "subscription_used",
            "promo_code",
            "line_items",
            "explanation",
            "expires_at",
        )
        read_only_fields = fields


class PassProductOutputSerializer(serializers.ModelSerializer[PassProduct]):
    class Meta:
        model = PassProduct
        fields = (
            "id",
            "facility",
            "name",
            "period",
            "price",
            "vehicle_types",
            "valid_weekdays",
            "valid_start_time",
            "valid_end_time",
            "is_active",
            "created_at",
        )
        read_only_fields = fields


class PassProductInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField(help_text="Create only.")
    name = serializers.CharField(max_length=120)
    period = serializers.ChoiceField(choices=PassPeriod.choices)
    price = serializers.IntegerField(min_value=0, help_text="Minor units per period.")
    vehicle_types = serializers.ListField(child=serializers.ChoiceField(choices=VehicleType.choices), required=False)
    valid_weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, help_text="Monday = 0; empty = all."
    )
    valid_start_time = serializers.TimeField(required=False, allow_null=True)
    valid_end_time = serializers.TimeField(required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)


class PassOutputSerializer(serializers.ModelSerializer[Pass]):
    product = PassProductOutputSerializer(read_only=True)

    class Meta:
        model = Pass
        fields = ("id", "product", "vehicle", "valid_from", "valid_until", "status", "created_at")
        read_only_fields = fields


class DiscountOutputSerializer(serializers.ModelSerializer[Discount]):
    class Meta:
        model = Discount
        fields = (
            "id",
            "organization",
            "code",
            "description",
            "kind",
            "percent",
            "amount",
            "valid_from",
            "valid_until",
            "max_redemptions",
            "max_redemptions_per_user",
            "min_duration_minutes",
            "facilities",
            "redemption_count",
            "is_active",
            "created_at",
        )
        read_only_fields = fields


class DiscountInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Create only.")
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{3,40}$")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=DiscountKind.choices)
    percent = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100)
    amount = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="Minor units.")
    valid_from = AwareDateTimeField(required=False, allow_null=True)
    valid_until = AwareDateTimeField(required=False, allow_null=True)
    max_redemptions = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    max_redemptions_per_user = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    min_duration_minutes = serializers.IntegerField(required=False, min_value=0)
    facilities = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Empty = all.")
    is_active = serializers.BooleanField(required=False)
