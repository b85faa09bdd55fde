"""Back office for bookings: find them (reference, plate by blind index), read their history and
emails, and act through the same services as the API (cancel, check in, check out, retry an email).

Bookings are never edited field by field here: every change is a state transition with its rules,
locks and events. Superusers see everything; other staff only their organizations' bookings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from app.exceptions import ApplicationError
from parking.admin import OrganizationScopedMixin
from vehicles.admin import PlateSearchMixin

from . import issues, outbox, services
from .models import Booking, BookingEvent, IssueReport, OutboxMessage, StaffAlert

BACK_OFFICE_REASON = "cancelled in the back office"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BookingEventInline(ReadOnlyInline):
    model = BookingEvent
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BookingEvent]:
        return super().get_queryset(request).select_related("actor")


class OutboxMessageInline(ReadOnlyInline):
    model = OutboxMessage
    fields = ("kind", "to_email", "created_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields


def _apply(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Booking],
    action: Callable[[Booking, User], object],
    verb: str,
) -> None:
    """Call ``action`` per booking (each in its own service transaction) and report what was refused."""
    assert isinstance(request.user, User)
    done = 0
    for booking in queryset:
        try:
            action(booking, request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"Not {verb}: {booking.reference}: {exc.message}", level=messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} booking(s) {verb}.", level=messages.SUCCESS)


@admin.register(Booking)
class BookingAdmin(PlateSearchMixin, OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ("reference", "status", "kind", "facility", "spot", "start", "end", "total", "currency", "driver")
    list_filter = ("status", "kind", "source", "facility")
    search_fields = ("reference", "driver__email")
    search_help_text = "Reference, driver email or licence plate (exact)."
    list_select_related = ("facility", "spot", "driver")
    date_hierarchy = "start"
    ordering = ("-start",)
    inlines = (BookingEventInline, OutboxMessageInline)
    actions = ("cancel_bookings", "check_in_bookings", "check_out_bookings", "move_bookings")
    fieldsets = (
        (None, {"fields": ("reference", "status", "kind", "source", "driver", "vehicle_type")}),
        ("Where and when", {"fields": ("facility", "zone", "spot", "start", "end", "checked_in_at", "checked_out_at")}),
        (
            "Money (minor units)",
            {
                "fields": (
                    "currency",
                    "parking_amount",
                    "discount_amount",
                    "service_fee",
                    "transaction_fee",
                    "total",
                    "owner_payout",
                    "platform_revenue",
                    "promo_code",
                    "refund_amount",
                    "early_exit_refund_amount",
                    "overstay_amount",
                )
            },
        ),
        ("Other", {"fields": ("hold_expires_at", "cancellation_reason", "access_code", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Booking | None = None) -> list[str]:
        return [str(field) for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bookings are made through the API (quote, allocation, payment)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is kept; cancel instead

    @admin.action(description="Cancel selected bookings (refund per policy)", permissions=("change",))
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda b, actor: services.booking_cancel(booking_id=b.pk, actor=actor, reason=BACK_OFFICE_REASON),
            "cancelled",
        )

    @admin.action(description="Check in selected bookings", permissions=("change",))
    def check_in_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda b, actor: services.booking_check_in(booking_id=b.pk, actor=actor),
            "checked in",
        )

    @admin.action(description="Move selected bookings to another free compatible spot", permissions=("change",))
    def move_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        def move(booking: Booking, actor: User) -> object:
            if issues.booking_relocate(booking=booking, actor=actor, reason="moved in the back office") is None:
                raise ApplicationError("no other compatible spot is free for its window")
            return booking

        _apply(self, request, queryset, move, "moved")

    @admin.action(description="Check out selected bookings", permissions=("change",))
    def check_out_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda b, actor: services.booking_check_out(booking_id=b.pk, actor=actor),
            "checked out",
        )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_field = "booking__organization_id"
    list_display = ("id", "kind", "booking", "to_email", "created_at", "sent_at", "attempts", "next_attempt_at")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("to_email", "booking__reference")
    list_select_related = ("booking",)
    readonly_fields = (
        "kind",
        "booking",
        "to_email",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
        "next_attempt_at",
    )
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry sending now (unsent only)", permissions=("change",))
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = outbox.outbox_retry(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} message(s) queued again.", level=messages.SUCCESS)


class StaffAlertInline(ReadOnlyInline):
    model = StaffAlert
    fields = ("to_email", "created_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields


@admin.register(IssueReport)
class IssueReportAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Problems drivers reported on site (the staff alert queue): newest first, unhandled filterable."""

    list_display = ("created_at", "booking", "kind", "outcome", "from_spot", "to_spot", "reporter", "handled_at")
    list_filter = ("kind", "outcome", ("handled_at", admin.EmptyFieldListFilter))
    list_select_related = ("booking", "from_spot", "to_spot", "reporter")
    search_fields = ("booking__reference",)
    inlines = (StaffAlertInline,)
    actions = ("mark_handled",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in IssueReport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Mark the selected reports handled", permissions=("change",))
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[IssueReport]) -> None:
        count = issues.issue_reports_mark_handled(report_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} report(s) marked handled.", level=messages.SUCCESS)
