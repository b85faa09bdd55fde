"""Back office for money: payments, refunds (approve), the webhook inbox, the ledger, payouts (retry),
payout accounts and reconciliation mismatches. Actions call the services; money rows are never
edited by hand. Superusers see everything; other staff only their organizations' rows (the webhook
inbox, platform-wide, only superusers)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import User
from app.admin_actions import with_reason
from app.exceptions import ApplicationError
from parking.admin import OrganizationScopedMixin

from . import payouts, services
from .models import (
    LedgerEntry,
    Payment,
    PaymentAlert,
    Payout,
    PayoutAccount,
    PayoutStatus,
    ReconciliationMismatch,
    Refund,
    RefundReason,
    RefundStatus,
    WebhookEvent,
)
from .providers import provider_get


class ScopedReadOnlyAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    fk_name = "payment"
    fields = ("amount", "reason", "status", "requested_by", "approved_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ScopedReadOnlyAdmin):
    list_display = ("id", "purpose", "amount", "currency", "provider", "status", "refunded_amount", "created_at")
    list_filter = ("status", "provider", "purpose", "currency")
    search_fields = ("provider_payment_id", "booking__reference", "driver__email")
    list_select_related = ("booking",)
    date_hierarchy = "created_at"
    inlines = (RefundInline,)
    actions = ("reconcile", "request_refund")

    @admin.action(
        description="Request a full refund (with a reason; a second person approves above the threshold)",
        permissions=("change",),
    )
    def request_refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> TemplateResponse | None:
        return with_reason(
            self,
            request,
            queryset,
            title="Refund payments in full",
            verb="refund(s) requested",
            apply=lambda payment, actor, reason: services.refund_request(
                payment_id=payment.pk, actor=actor, amount=None, reason=RefundReason.GOODWILL, note=reason
            ),
        )

    @admin.action(description="Re-run reconciliation for the selected payments", permissions=("change",))
    def reconcile(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        changed = 0
        for payment in queryset.exclude(provider__in=("", "cash")):
            try:
                state = provider_get(payment.provider).fetch_payment(payment=payment)
                after = services.payment_apply_provider_state(payment_id=payment.pk, state=state)
                changed += after.status != payment.status
            except ApplicationError as exc:
                self.message_user(request, f"{payment.pk}: {exc.message}", level=messages.ERROR)
        self.message_user(request, f"{changed} payment(s) changed.", level=messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(ScopedReadOnlyAdmin):
    organization_field = "payment__organization_id"
    list_display = ("id", "payment", "amount", "reason", "status", "requested_by", "approved_by", "created_at")
    list_filter = ("status", "reason")
    list_select_related = ("payment", "requested_by", "approved_by")
    actions = ("approve",)

    @admin.action(description="Approve the selected refunds (not your own requests)", permissions=("change",))
    def approve(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        assert isinstance(request.user, User)
        for refund in queryset.filter(status=RefundStatus.PENDING_APPROVAL):
            try:
                services.refund_approve(refund_id=refund.pk, actor=request.user)
                self.message_user(request, f"Refund {refund.pk} approved.", level=messages.SUCCESS)
            except ApplicationError as exc:
                self.message_user(request, f"Refund {refund.pk}: {exc.message}", level=messages.ERROR)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ScopedReadOnlyAdmin):
    list_display = ("provider", "type", "event_id", "outcome", "attempts", "received_at", "processed_at")
    list_filter = ("provider", "outcome", "type")
    search_fields = ("event_id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEvent]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if request.user.is_superuser else queryset.none()


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ScopedReadOnlyAdmin):
    list_display = ("created_at", "transaction_id", "account", "organization", "amount", "currency", "memo")
    list_filter = ("account", "currency")
    search_fields = ("transaction_id", "memo")
    list_select_related = ("organization",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payout)
class PayoutAdmin(ScopedReadOnlyAdmin):
    list_display = ("id", "organization", "amount", "currency", "status", "transfer_id", "attempts", "created_at")
    list_filter = ("status", "currency")
    list_select_related = ("organization",)
    actions = ("retry",)

    @admin.action(description="Retry the selected failed payouts (same idempotency key)", permissions=("change",))
    def retry(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for payout in queryset.filter(status=PayoutStatus.FAILED):
            result = payouts.payout_retry(payout_id=payout.pk)
            level = messages.SUCCESS if result.status == PayoutStatus.PAID else messages.ERROR
            self.message_user(request, f"Payout {payout.pk}: {result.status} {result.error}".strip(), level=level)


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "provider",
        "account_id",
        "holdback_hours",
        "minimum_amount",
        "refund_approval_threshold",
    )
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PayoutAccount]:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.none()  # platform admins set these up


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(ScopedReadOnlyAdmin):
    organization_field = "payment__organization_id"
    list_display = ("payment", "kind", "detail", "created_at", "resolved_at", "resolved_by")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    actions = ("resolve",)

    @admin.action(description="Mark the selected mismatches resolved", permissions=("change",))
    def resolve(self, request: HttpRequest, queryset: QuerySet[ReconciliationMismatch]) -> None:
        count = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now(), resolved_by=request.user)
        self.message_user(request, f"{count} mismatch(es) resolved.", level=messages.SUCCESS)


@admin.register(PaymentAlert)
class PaymentAlertAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Payment alerts (failure rate, reconciliation mismatches), opened and closed by the alerts job."""

    list_display = ("opened_at", "organization", "kind", "detail", "closed_at", "emailed_at")
    list_filter = ("kind", ("closed_at", admin.EmptyFieldListFilter))
    list_select_related = ("organization",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in PaymentAlert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class BookingPaymentInline(admin.TabularInline):
    """Payments of a booking, shown on the booking's back-office page (payments adds it there)."""

    model = Payment
    fk_name = "booking"
    fields = ("purpose", "amount", "currency", "provider", "status", "refunded_amount", "succeeded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _show_payments_on_bookings() -> None:
    from bookings.admin import BookingAdmin

    if BookingPaymentInline not in BookingAdmin.inlines:
        BookingAdmin.inlines = (*BookingAdmin.inlines, BookingPaymentInline)  # type: ignore[assignment]


_show_payments_on_bookings()
