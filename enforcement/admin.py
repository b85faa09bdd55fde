"""Back office for enforcement: penalty policies and the (read-only) enforcement check log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from parking.admin import organization_ids_visible
from vehicles.admin import plate_index_for_search

from .models import EnforcementCheck, PenaltyPolicy


@admin.register(PenaltyPolicy)
class PenaltyPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "facility",
        "overstay_grace_minutes",
        "overstay_hourly_rate",
        "overstay_daily_cap",
        "no_show_fee_percent",
    )
    list_select_related = ("facility",)
    autocomplete_fields = ("facility",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PenaltyPolicy]:
        queryset = super().get_queryset(request)
        ids = organization_ids_visible(request)
        return queryset if ids is None else queryset.filter(facility__organization_id__in=ids)


@admin.register(EnforcementCheck)
class EnforcementCheckAdmin(admin.ModelAdmin):
    list_display = ("checked_at", "facility", "checked_by", "allowed", "outcome", "valid_until", "booking")
    list_filter = ("allowed", "outcome")
    list_select_related = ("facility", "checked_by", "booking")
    search_fields = ("booking__reference",)
    search_help_text = "Booking reference or licence plate (exact)."
    date_hierarchy = "checked_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[EnforcementCheck]:
        queryset = super().get_queryset(request)
        ids = organization_ids_visible(request)
        return queryset if ids is None else queryset.filter(organization_id__in=ids)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[EnforcementCheck], search_term: str
    ) -> tuple[QuerySet[EnforcementCheck], bool]:
        results, duplicates = super().get_search_results(request, queryset, search_term)
        index = plate_index_for_search(search_term) if search_term else None
        if index is not None:
            results |= queryset.filter(plate_index=index)
        return results, duplicates

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in EnforcementCheck._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
