from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from app.exceptions import ApplicationError

from . import services
from .models import AuditLogEntry, Membership, Organization, RefreshTokenFamily, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_verified", "is_active", "is_staff", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "is_verified")
    search_fields = ("email", "first_name", "last_name", "phone")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "phone", "is_verified")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        """Platform admins see every account; organization staff only their colleagues (and themselves)."""
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return queryset
        if not isinstance(user, User):
            return queryset.none()
        colleagues = Membership.objects.filter(organization__memberships__user=user).values_list("user_id", flat=True)
        return queryset.filter(Q(pk__in=colleagues) | Q(pk=user.pk))


class StaffScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; other staff only rows of organizations they own or manage."""

    organization_lookup = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_lookup}__memberships__user": request.user}).distinct()


@admin.register(Organization)
class OrganizationAdmin(StaffScopedAdmin):
    list_display = ("name", "slug", "kind", "currency", "country", "member_count", "created_at")
    list_filter = ("kind", "currency", "country")
    search_fields = ("name", "slug")
    readonly_fields = ("id", "created_at", "updated_at")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        queryset = admin.ModelAdmin.get_queryset(self, request).annotate(member_total=Count("memberships"))
        if request.user.is_superuser:
            return queryset
        return queryset.filter(memberships__user=request.user)

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj: Organization) -> int:
        return obj.member_total  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(StaffScopedAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization__kind")
    search_fields = ("user__email", "organization__name")
    autocomplete_fields = ("user", "organization")
    list_select_related = ("user", "organization")
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> tuple[str, ...]:
        return ("user", "organization", "created_at", "updated_at") if obj else ("created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        # Role changes go through the service so the last-owner rule and the audit log apply.
        try:
            if change:
                services.membership_update(actor=request.user, membership=obj, role=obj.role)  # type: ignore[arg-type]
            else:
                services.membership_add(
                    actor=request.user,  # type: ignore[arg-type]
                    organization=obj.organization,
                    email=obj.user.email,
                    role=obj.role,
                )
        except (ApplicationError, ValidationError) as exc:
            self.message_user(request, str(exc), level=messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        try:
            services.membership_remove(actor=request.user, membership=obj)  # type: ignore[arg-type]
        except ApplicationError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    """Read-only: the table is append-only in the database too."""

    list_display = ("created_at", "action", "actor_email", "organization_id", "target_type", "target_id", "ip_address")
    list_filter = ("action", "target_type")
    search_fields = ("actor_email", "=actor_id", "=organization_id", "=request_id", "=target_id")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditLogEntry._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditLogEntry]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        organization_ids = Membership.objects.filter(user=request.user).values("organization_id")  # type: ignore[misc]
        return queryset.filter(organization_id__in=organization_ids)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not request.user.is_staff:
            raise PermissionDenied
        return True


@admin.register(RefreshTokenFamily)
class RefreshTokenFamilyAdmin(admin.ModelAdmin):
    list_display = ("jti", "family", "user", "created_at")
    search_fields = ("=family", "=jti", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("jti", "family", "user", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class PlatformOnlyAdminMixin:
    """Only platform admins (superusers) see these pages, whatever permissions a staff user holds."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


def _platform_only(app_label: str) -> None:
    """Re-register a third-party app's admin pages (the beat schedules) as platform-admin only."""
    for model, model_admin in list(admin.site._registry.items()):
        if model._meta.app_label == app_label:
            admin.site.unregister(model)
            admin.site.register(
                model,
                type(f"PlatformOnly{type(model_admin).__name__}", (PlatformOnlyAdminMixin, type(model_admin)), {}),
            )


_platform_only("django_celery_beat")
_platform_only("django_celery_results")
