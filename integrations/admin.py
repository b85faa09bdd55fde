"""Back office for outgoing webhooks: endpoints, deliveries with their attempts, retry."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from bookings.admin import ReadOnlyInline
from parking.admin import OrganizationScopedMixin

from . import services
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ("url", "organization", "is_active", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("organization",)
    search_fields = ("url", "organization__name")
    readonly_fields = ("secret", "created_by", "created_at", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ("event_type", "event_id", "endpoint", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("=event_id", "endpoint__url")
    date_hierarchy = "created_at"
    inlines = (AttemptInline,)
    actions = ("retry",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send the selected deliveries again now", permissions=("change",))
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        done = 0
        for delivery in queryset.exclude(status="succeeded"):
            services.delivery_retry(delivery=delivery)
            done += 1
        self.message_user(request, f"{done} delivery(ies) queued again.", level=messages.SUCCESS)
