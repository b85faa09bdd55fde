"""Back office for enforcement: penalty policies and the (read-only) enforcement check log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from parking.admin import OrganizationScopedMixin
from vehicles.admin import PlateSearchMixin

from .models import EnforcementCheck, PenaltyPolicy


@admin.register(PenaltyPolicy)
class PenaltyPolicyAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_field = "facility__organization_id"
    list_display = (
        "facility",
        "overstay_grace_minutes",
        "overstay_hourly_rate",
        "overstay_daily_cap",
        "no_show_fee_percent",
    )
    list_select_related = ("facility",)
    autocomplete_fields = ("facility",)


@admin.register(EnforcementCheck)
class EnforcementCheckAdmin(PlateSearchMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ("checked_at", "facility", "checked_by", "allowed", "outcome", "valid_until", "booking")
    list_filter = ("allowed", "outcome")
    list_select_related = ("facility", "checked_by", "booking")
    search_fields = ("booking__reference",)
    search_help_text = "Booking reference or licence plate (exact)."
    date_hierarchy = "checked_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in EnforcementCheck._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
