"""Back office for enforcement: violations with evidence, the disputes queue, penalty policies, the
(read-only) enforcement check log and the job run log. Actions call the same services as the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from app.admin_actions import with_reason as _with_reason
from bookings.admin import ReadOnlyInline
from parking.admin import OrganizationScopedMixin
from vehicles.admin import PlateSearchMixin

from . import violations as services
from .models import (
    Dispute,
    DisputeStatus,
    EnforcementCheck,
    JobRun,
    PenaltyPolicy,
    Violation,
    ViolationEvent,
    ViolationEvidence,
    ViolationNotice,
)


@admin.register(PenaltyPolicy)
class PenaltyPolicyAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_field = "facility__organization_id"
    list_display = (
        "facility",
        "overstay_daily_cap",
        "overstay_admin_fee",
        "overstay_violation_after_minutes",
        "fine_due_days",
        "updated_at",
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


class EvidenceInline(ReadOnlyInline):
    model = ViolationEvidence
    fields = ("created_at", "kind", "note", "photo", "gate_event_id", "added_by")
    readonly_fields = fields


class ViolationEventInline(ReadOnlyInline):
    model = ViolationEvent
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = ("created_at", "status", "reason", "evidence", "evidence_file", "decided_by", "decision_note")
    readonly_fields = fields


class NoticeInline(ReadOnlyInline):
    model = ViolationNotice
    fields = ("kind", "to_email", "created_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields


@admin.register(Violation)
class ViolationAdmin(PlateSearchMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "kind",
        "status",
        "facility",
        "fine_amount",
        "currency",
        "issued_at",
        "due_date",
        "escalated",
    )
    list_filter = ("status", "kind", ("escalated_at", admin.EmptyFieldListFilter), "facility")
    list_select_related = ("facility",)
    search_fields = ("=id", "booking__reference", "driver__email")
    search_help_text = "Violation number, booking reference, driver email or licence plate (exact)."
    date_hierarchy = "issued_at"
    inlines = (EvidenceInline, DisputeInline, ViolationEventInline, NoticeInline)
    actions = ("waive", "escalate", "reopen")
    exclude = ("plate",)  # never shown; searchable through the blind index only

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Every change goes through the services (actions); resolved ones are read-only in the database too.
        return [field.name for field in Violation._meta.fields if field.name != "plate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued through the staff API (from a check or by plate) or by the overstay job

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description="escalated")
    def escalated(self, obj: Violation) -> bool:
        return obj.escalated_at is not None

    def _act(
        self, request: HttpRequest, queryset: QuerySet[Violation], service: Callable[..., object], title: str, verb: str
    ) -> TemplateResponse | None:
        return _with_reason(
            self,
            request,
            queryset,
            title=title,
            verb=verb,
            apply=lambda v, actor, reason: service(violation=v, actor=actor, reason=reason),
        )

    @admin.action(description="Waive the selected violations (with a reason; audited)", permissions=("change",))
    def waive(self, request: HttpRequest, queryset: QuerySet[Violation]) -> TemplateResponse | None:
        return self._act(request, queryset, services.violation_waive, "Waive violations", "waived")

    @admin.action(description="Escalate the selected violations", permissions=("change",))
    def escalate(self, request: HttpRequest, queryset: QuerySet[Violation]) -> TemplateResponse | None:
        return self._act(request, queryset, services.violation_escalate, "Escalate violations", "escalated")

    @admin.action(description="Reopen the selected waived/cancelled violations (managers)", permissions=("change",))
    def reopen(self, request: HttpRequest, queryset: QuerySet[Violation]) -> TemplateResponse | None:
        return self._act(request, queryset, services.violation_reopen, "Reopen violations", "reopened")


@admin.register(Dispute)
class DisputeAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """The disputes queue: open ones first; uphold or cancel with a note (the driver is emailed)."""

    organization_field = "violation__organization_id"
    list_display = ("__str__", "status", "driver", "created_at", "decided_by", "decided_at")
    list_filter = ("status",)
    list_select_related = ("violation", "driver", "decided_by")
    search_fields = ("=violation__id", "driver__email")
    actions = ("uphold", "cancel")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        return super().get_queryset(request).order_by("-status", "created_at")  # "open" sorts after "cancelled"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Dispute._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet[Dispute], *, uphold: bool) -> TemplateResponse | None:
        return _with_reason(
            self,
            request,
            queryset.filter(status=DisputeStatus.OPEN),
            title="Uphold disputes (the fine stands)" if uphold else "Cancel the violations of these disputes",
            verb="upheld" if uphold else "cancelled",
            apply=lambda d, actor, note: services.dispute_resolve(dispute=d, actor=actor, uphold=uphold, note=note),
        )

    @admin.action(description="Uphold: the fine stands (with a note)", permissions=("change",))
    def uphold(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> TemplateResponse | None:
        return self._decide(request, queryset, uphold=True)

    @admin.action(description="Cancel the violation: nothing is owed (with a note)", permissions=("change",))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> TemplateResponse | None:
        return self._decide(request, queryset, uphold=False)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """Platform-wide job runs (last run, counts, failures): platform admins only."""

    list_display = ("job", "started_at", "finished_at", "succeeded", "result", "error")
    list_filter = ("job", "succeeded")
    date_hierarchy = "started_at"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
