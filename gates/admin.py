"""Back office for gates: devices (rotate key / revoke keys / remote open through the services), the
event log (read-only; plates by exact match through the blind index) and the manual-review queue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from app.exceptions import ApplicationError
from parking.admin import OrganizationScopedMixin
from vehicles.admin import PlateSearchMixin

from . import services
from .models import Gate, GateAlert, GateCommand, GateEvent, ManualReview


class ScopedAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Gate rows of the admin user's organizations."""


@admin.register(Gate)
class GateAdmin(ScopedAdmin):
    list_display = ("name", "facility", "direction", "status", "last_seen_at", "software_version")
    list_filter = ("status", "direction")
    list_select_related = ("facility",)
    search_fields = ("name", "facility__name")
    readonly_fields = ("status", "last_seen_at", "software_version", "created_at")
    actions = ("rotate_key", "revoke_keys", "remote_open")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # registered through the API (the key is shown once there) or rotated here

    @admin.action(description="Rotate the key (the new key is shown once)", permissions=("change",))
    def rotate_key(self, request: HttpRequest, queryset: QuerySet[Gate]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        for gate in queryset:
            key = services.gate_key_rotate(gate=gate, actor=actor)
            self.message_user(request, f"{gate.name}: new key {key} (copy it now; it is not shown again)")

    @admin.action(description="Revoke all keys", permissions=("change",))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[Gate]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        for gate in queryset:
            services.gate_key_revoke(gate=gate, actor=actor)
        self.message_user(request, "Keys revoked.", level=messages.SUCCESS)

    @admin.action(description="Open remotely (audited)", permissions=("change",))
    def remote_open(self, request: HttpRequest, queryset: QuerySet[Gate]) -> None:
        assert isinstance(request.user, User)
        for gate in queryset:
            try:
                services.gate_command_issue(
                    gate=gate, kind="open", actor=request.user, reason="opened from the back office"
                )
            except ApplicationError as exc:
                self.message_user(request, f"{gate.name}: {exc.message}", level=messages.ERROR)
        self.message_user(request, "Open command queued.", level=messages.SUCCESS)


@admin.register(GateEvent)
class GateEventAdmin(PlateSearchMixin, ScopedAdmin):
    list_display = ("occurred_at", "gate", "kind", "decision", "reason_code", "credential_type", "offline", "flagged")
    list_filter = ("decision", "kind", "reason_code", "offline", "flagged")
    list_select_related = ("gate",)
    search_fields = ("event_id", "booking__reference")
    search_help_text = "Event id, booking reference or licence plate (exact)."
    date_hierarchy = "occurred_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in GateEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GateCommand)
class GateCommandAdmin(ScopedAdmin):
    organization_field = "gate__organization_id"
    list_display = ("created_at", "gate", "kind", "reason", "issued_by", "delivered_at", "acked_at")
    list_select_related = ("gate", "issued_by")
    readonly_fields = ("gate", "kind", "reason", "issued_by", "created_at", "delivered_at", "acked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ManualReview)
class ManualReviewAdmin(ScopedAdmin):
    organization_field = "event__organization_id"
    list_display = ("created_at", "reason", "status", "event", "resolved_by")
    list_filter = ("status", "reason")
    list_select_related = ("event", "resolved_by")
    readonly_fields = ("event", "reason", "created_at", "resolved_by", "resolved_at")


@admin.register(GateAlert)
class GateAlertAdmin(ScopedAdmin):
    organization_field = "gate__organization_id"
    list_display = ("gate", "kind", "started_at", "ended_at", "notified_at")
    list_filter = ("kind", ("ended_at", admin.EmptyFieldListFilter))
    list_select_related = ("gate",)
    readonly_fields = ("gate", "kind", "started_at", "ended_at", "notified_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
