"""Back office for reviews: moderation (hide / unhide with a reason, audited) through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from app.admin_actions import with_reason
from bookings.admin import ReadOnlyInline
from parking.admin import OrganizationScopedMixin

from . import services
from .models import OwnerResponse, Review, ReviewNotice


class ResponseInline(ReadOnlyInline):
    model = OwnerResponse
    fields = ("body", "author", "created_at", "edited_at")
    readonly_fields = fields


class NoticeInline(ReadOnlyInline):
    model = ReviewNotice
    fields = ("to_email", "created_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields


@admin.register(Review)
class ReviewAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ("id", "facility", "rating", "title", "author", "is_hidden", "helpful_count", "created_at")
    list_filter = ("is_hidden", "rating", "facility")
    list_select_related = ("facility", "author")
    search_fields = ("title", "comment", "author__email", "booking__reference")
    date_hierarchy = "created_at"
    inlines = (ResponseInline, NoticeInline)
    actions = ("hide", "unhide")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Review._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # hide instead: aggregates and history stay right

    def _moderate(self, request: HttpRequest, queryset: QuerySet[Review], *, hidden: bool) -> TemplateResponse | None:
        return with_reason(
            self,
            request,
            queryset,
            title="Hide reviews" if hidden else "Show reviews again",
            verb="hidden" if hidden else "shown again",
            apply=lambda review, actor, reason: services.review_set_hidden(
                review=review, actor=actor, hidden=hidden, reason=reason
            ),
        )

    @admin.action(description="Hide the selected reviews (with a reason; audited)", permissions=("change",))
    def hide(self, request: HttpRequest, queryset: QuerySet[Review]) -> TemplateResponse | None:
        return self._moderate(request, queryset, hidden=True)

    @admin.action(description="Show the selected hidden reviews again (audited)", permissions=("change",))
    def unhide(self, request: HttpRequest, queryset: QuerySet[Review]) -> TemplateResponse | None:
        return self._moderate(request, queryset, hidden=False)
