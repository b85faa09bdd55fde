"""Back office for pricing: rule editor with inline JSON validation and a live preview, passes,
discounts with redemption counts, fee policies (platform admins only)."""

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.selectors import organization_ids_for
from parking.admin import InventoryAdmin, OrganizationScopedMixin, copy_saved

from . import services
from .engine import PricingContext, quote_stay
from .fees import fee_breakdown
from .models import Discount, DiscountRedemption, FeePolicy, Pass, PassProduct, PricingRule, Quote
from .schemas import STRATEGY_EXAMPLES, PricingError, validate_config
from .selectors import fee_policy_for


class ScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; other staff only their organizations' rows."""

    organization_field = "organization_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_field}__in": organization_ids_for(actor=request.user)})  # type: ignore[arg-type]


class PricingRuleForm(forms.ModelForm):
    class Meta:
        model = PricingRule
        fields = (
            "facility",
            "zone",
            "spot",
            "name",
            "strategy",
            "config",
            "vehicle_types",
            "spot_categories",
            "priority",
            "valid_from",
            "valid_until",
            "is_active",
        )
        help_texts = {"config": "Examples: " + "; ".join(f"{k}: {json.dumps(v)}" for k, v in STRATEGY_EXAMPLES.items())}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            validate_config(data.get("strategy", ""), data.get("config"))
        except PricingError as exc:
            self.add_error("config", f"{exc.attr or 'config'}: {exc.message}")
        facility = data.get("facility")
        for field in ("zone", "spot"):
            value = data.get(field)
            if value is not None and facility is not None and value.facility_id != facility.pk:
                self.add_error(field, f"The {field} is not in this facility.")
        return data


@admin.register(PricingRule)
class PricingRuleAdmin(InventoryAdmin):
    """Rule editor: JSON errors shown on the config field, a live preview, writes through services."""

    form = PricingRuleForm
    list_display = ("name", "facility", "scope", "strategy", "priority", "is_active", "valid_from", "valid_until")
    list_filter = ("strategy", "is_active", "facility__organization")
    search_fields = ("name", "facility__name")
    list_select_related = ("facility",)
    raw_id_fields = ("zone", "spot")

    def get_readonly_fields(self, request: HttpRequest, obj: PricingRule | None = None) -> tuple[str, ...]:
        # The scope is fixed once created (the services move no rule between facilities).
        return ("facility", "zone", "spot", "preview") if obj else ("preview",)

    def save_model(self, request: HttpRequest, obj: PricingRule, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in services.RULE_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.rule_update(rule=PricingRule.objects.get(pk=obj.pk), data=data)
        else:
            saved = services.rule_create(
                facility=form.cleaned_data["facility"],
                zone=form.cleaned_data.get("zone"),
                spot=form.cleaned_data.get("spot"),
                data=data,
            )
        copy_saved(saved, obj)

    def delete_model(self, request: HttpRequest, obj: PricingRule) -> None:
        services.rule_delete(rule=obj)

    @admin.display(description="preview: 4 h from tomorrow 09:00 local, standard car")
    def preview(self, obj: PricingRule) -> str:
        if not obj.pk:
            return "Save the rule to see a preview."
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(obj.facility.timezone)
        start = (timezone.now().astimezone(zone) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        try:
            quote = quote_stay(
                strategy=obj.strategy,
                config=obj.config,
                start=start,
                end=start + timedelta(hours=4),
                time_zone=obj.facility.timezone,
                context=PricingContext(vehicle_type="standard"),
                rule_name=obj.name,
            )
        except PricingError as exc:
            return f"Cannot price: {exc.message}"
        percent, fee = fee_policy_for(obj.organization_id)
        fees = fee_breakdown(parking_amount=quote.parking_amount, service_fee_percent=percent, transaction_fee=fee)
        # format_html_join escapes every value: line descriptions carry owner-supplied names.
        lines = format_html_join("", "<li>{}: {}</li>", ((item.description, item.amount) for item in quote.line_items))
        return format_html(
            "<ul>{}</ul><p>Parking {} + service fee {} + transaction fee {} = <b>{} {}</b>. {}</p>",
            lines,
            fees.parking_amount,
            fees.service_fee,
            fees.transaction_fee,
            fees.total,
            obj.facility.currency,
            quote.explanation,
        )


@admin.register(PassProduct)
class PassProductAdmin(InventoryAdmin):
    list_display = ("name", "facility", "period", "price", "is_active")
    list_filter = ("period", "is_active")
    search_fields = ("name", "facility__name")
    list_select_related = ("facility",)

    def get_readonly_fields(self, request: HttpRequest, obj: PassProduct | None = None) -> tuple[str, ...]:
        return ("facility",) if obj else ()

    def save_model(self, request: HttpRequest, obj: PassProduct, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in services.PASS_PRODUCT_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.pass_product_update(product=PassProduct.objects.get(pk=obj.pk), data=data)
        else:
            saved = services.pass_product_create(facility=form.cleaned_data["facility"], data=data)
        copy_saved(saved, obj)


@admin.register(Pass)
class PassAdmin(ScopedAdmin):
    organization_field = "product__organization_id"
    list_display = ("product", "driver", "status", "valid_from", "valid_until")
    list_filter = ("status",)
    search_fields = ("driver__email", "product__name")
    list_select_related = ("product", "driver")
    raw_id_fields = ("driver", "vehicle")


class RedemptionInline(admin.TabularInline):
    model = DiscountRedemption
    extra = 0
    can_delete = False
    readonly_fields = ("user", "reference", "amount", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Discount)
class DiscountAdmin(ScopedAdmin):
    list_display = (
        "code",
        "organization",
        "kind",
        "percent",
        "amount",
        "redemption_count",
        "max_redemptions",
        "is_active",
    )
    list_filter = ("kind", "is_active")
    search_fields = ("code", "description")
    readonly_fields = ("redemption_count",)
    filter_horizontal = ("facilities",)
    inlines = (RedemptionInline,)


@admin.register(FeePolicy)
class FeePolicyAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Platform admins only: organization staff can see their policy but never change it."""

    list_display = ("organization", "service_fee_percent", "transaction_fee", "updated_at")
    search_fields = ("organization__name",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Quote)
class QuoteAdmin(ScopedAdmin):
    list_display = ("id", "facility", "vehicle_type", "start", "end", "total", "currency", "expires_at")
    list_select_related = ("facility",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Quote._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
