"""Back office for inventory: facilities, zones, spots, blocks and photos.

Every write goes through ``parking.services`` / ``parking.photos`` (denormalised organization and
facility columns, validation, cache version bumps), never through ``Model.save()``. A service error
rolls the whole admin request back and comes back as an error message on the page it came from.

Superusers see everything; other staff users only rows of their organizations (any role), and only
those organizations' facilities, zones and spots in the choice lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from accounts.models import Organization, User
from accounts.selectors import organization_ids_for
from app.exceptions import ApplicationError

from . import photos, services
from .models import FACILITY_POLICY_FIELDS, Facility, FacilityPhoto, Spot, SpotBlock, SpotStatus, Zone

# ---------------------------------------------------------------------------- tenant scoping


def organization_ids_visible(request: HttpRequest) -> QuerySet[Any, Any] | None:
    """Ids of the organizations the admin user may see, or None for "all" (superusers)."""
    user = request.user
    if user.is_superuser:
        return None
    if not isinstance(user, User):
        return Organization.objects.none().values_list("pk", flat=True)
    return organization_ids_for(actor=user)


class SpotChoiceField(forms.ModelChoiceField):
    """Spot codes repeat across facilities: label choices "facility / zone / code"."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.zone.facility.name} / {obj.zone.name} / {obj.code}"


def scoped_choices(model: type[models.Model], request: HttpRequest) -> QuerySet[Any] | None:
    """The choices a foreign key to ``model`` may offer this admin user (None: not tenant data)."""
    ids = organization_ids_visible(request)
    queryset: QuerySet[Any]
    if model is Organization:
        queryset = Organization.objects.all()
        return queryset if ids is None else queryset.filter(pk__in=ids)
    if model is Facility:
        queryset = Facility.objects.all()
    elif model is Zone:
        queryset = Zone.objects.select_related("facility")
    elif model is Spot:
        queryset = Spot.objects.select_related("zone__facility").order_by("facility__name", "code")
    else:
        return None
    return queryset if ids is None else queryset.filter(organization_id__in=ids)


class ScopedFormfieldsMixin:
    """Foreign-key choices limited to the admin user's organizations (inlines and model admins)."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        queryset = scoped_choices(db_field.related_model, request)
        if queryset is not None:
            kwargs.setdefault("queryset", queryset)
        if db_field.related_model is Spot:
            kwargs.setdefault("form_class", SpotChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


def error_text(exc: ApplicationError | ValidationError) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    if hasattr(exc, "error_dict"):
        return "; ".join(
            message if field == "__all__" else f"{field}: {message}"
            for field, field_messages in exc.message_dict.items()
            for message in field_messages
        )
    return "; ".join(exc.messages)


def copy_saved(saved: models.Model, obj: models.Model) -> None:
    """The admin goes on with the form's instance (messages, log, redirect): make it the saved row."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


class OrganizationScopedMixin:
    """Admin querysets limited to the admin user's organizations (superusers: everything).

    ``organization_field`` is the lookup reaching the organization id from the model
    (``organization_id``, ``booking__organization_id`` …). Every tenant-scoped admin uses this one
    rule."""

    organization_field = "organization_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        ids = organization_ids_visible(request)
        if ids is None:
            return queryset
        return queryset.filter(**{f"{self.organization_field}__in": ids})


class InventoryAdmin(OrganizationScopedMixin, ScopedFormfieldsMixin, admin.ModelAdmin):
    """Tenant-scoped admin whose writes go through services.

    ``organization_field`` is the column holding the organization id (denormalised on every
    inventory table). A service error raised while saving or deleting propagates out of the admin's
    transaction (so nothing of the request is kept, log entries included) and is shown as a message.
    """

    def _service_error(self, request: HttpRequest, exc: ApplicationError | ValidationError) -> HttpResponse:
        self.message_user(request, f"Nothing was saved: {error_text(exc)}", level=messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ApplicationError, ValidationError) as exc:
            return self._service_error(request, exc)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except (ApplicationError, ValidationError) as exc:
            return self._service_error(request, exc)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().changelist_view(request, extra_context)
        except (ApplicationError, ValidationError) as exc:
            return self._service_error(request, exc)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # All or nothing: one refused deletion (e.g. future bookings) keeps every selected row.
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


def _changes(form: forms.ModelForm, allowed: Iterable[str]) -> dict[str, Any]:
    allowed = set(allowed)
    return {name: form.cleaned_data[name] for name in form.changed_data if name in allowed}


def _save_formset_through(
    formset: Any,
    *,
    create: Callable[[Any], Any] | None,
    update: Callable[[Any, dict[str, Any]], Any],
    delete: Callable[[Any], Any],
) -> None:
    """Apply an inline formset's additions, changes and deletions through service calls."""
    formset.save(commit=False)
    for obj in formset.deleted_objects:
        delete(type(obj).objects.get(pk=obj.pk))
    for obj, changed_fields in formset.changed_objects:
        fresh = type(obj).objects.get(pk=obj.pk)
        update(fresh, {name: getattr(obj, name) for name in changed_fields})
    for obj in formset.new_objects:
        if create is not None:
            create(obj)


# ---------------------------------------------------------------------------- inlines


class ZoneInline(ScopedFormfieldsMixin, admin.TabularInline):
    model = Zone
    fields = ("name", "level", "kind", "display_order")
    extra = 0
    show_change_link = True


class SpotInline(admin.TabularInline):
    """Read-only overview; spots are created and changed on their own pages (or in bulk by the API)."""

    model = Spot
    fields = ("code", "zone", "size", "category", "status")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False
    ordering = ("zone__display_order", "zone__level", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Spot]:
        return super().get_queryset(request).select_related("zone__facility")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _thumbnail(photo: FacilityPhoto) -> str:
    if not photo.image:
        return "-"
    return format_html('<img src="{}" alt="" style="height: 48px; border-radius: 4px">', photo.image.url)


class FacilityPhotoInline(admin.TabularInline):
    """Caption, order and deletion; uploads go through the photo admin (or the API) where the file
    is checked."""

    model = FacilityPhoto
    fields = ("thumbnail", "caption", "position", "content_type")
    readonly_fields = ("thumbnail", "content_type")
    extra = 0
    show_change_link = True

    @admin.display(description="photo")
    def thumbnail(self, photo: FacilityPhoto) -> str:
        return _thumbnail(photo)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------------------- facilities


class FacilityAdminForm(forms.ModelForm):
    class Meta:
        model = Facility
        fields = ("organization", *sorted(services.FACILITY_FIELDS))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Leave empty to derive it from the name."
        if "currency" in self.fields:
            self.fields["currency"].required = False
            self.fields["currency"].help_text = "ISO 4217; leave empty for the organization's currency."

    # Normalised here as the services do, so the form's constraint checks see the stored value.
    def clean_currency(self) -> str:
        return str(self.cleaned_data.get("currency") or "").strip().upper()

    def clean_country(self) -> str:
        return str(self.cleaned_data.get("country") or "").strip().upper()


@admin.register(Facility)
class FacilityAdmin(InventoryAdmin):
    form = FacilityAdminForm
    list_display = ("name", "organization", "kind", "city", "is_published", "spot_count")
    list_filter = (("organization", admin.RelatedOnlyFieldListFilter), "kind", "is_published")
    list_select_related = ("organization",)
    search_fields = ("name", "city")
    inlines = (ZoneInline, SpotInline, FacilityPhotoInline)
    fieldsets = (
        (None, {"fields": ("organization", "name", "slug", "kind", "description", "is_published")}),
        (
            "Location",
            {
                "fields": (
                    "address_line",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "latitude",
                    "longitude",
                    "timezone",
                    "currency",
                    "operating_hours",
                )
            },
        ),
        (
            "Amenities",
            {
                "fields": (
                    "is_covered",
                    "has_ev_charging",
                    "has_security",
                    "has_lighting",
                    "is_accessible",
                    "access_instructions",
                )
            },
        ),
        (
            "Policies",
            {
                "classes": ("collapse",),
                "fields": FACILITY_POLICY_FIELDS,
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Facility]:
        return super().get_queryset(request).annotate(spot_total=Count("spots", distinct=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Facility | None = None) -> tuple[str, ...]:
        # A facility never moves to another organization (its zones, spots and bookings would not follow).
        return ("organization", "created_at", "updated_at") if obj else ("created_at", "updated_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        ids = organization_ids_visible(request)
        if ids is not None and "organization" not in initial:
            organizations = list(ids[:2])
            if len(organizations) == 1:
                initial["organization"] = organizations[0]
        return initial

    @admin.display(description="spots", ordering="spot_total")
    def spot_count(self, facility: Facility) -> int:
        return int(getattr(facility, "spot_total", 0))

    def save_model(self, request: HttpRequest, obj: Facility, form: Any, change: bool) -> None:
        if change:
            fresh = Facility.objects.get(pk=obj.pk)
            saved = services.facility_update(facility=fresh, data=_changes(form, services.FACILITY_FIELDS))
        else:
            data = {key: value for key, value in form.cleaned_data.items() if key in services.FACILITY_FIELDS}
            saved = services.facility_create(organization=form.cleaned_data["organization"], data=data)
        copy_saved(saved, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        facility: Facility = form.instance
        if formset.model is Zone:
            _save_formset_through(
                formset,
                create=lambda zone: services.zone_create(
                    facility=facility, data={name: getattr(zone, name) for name in services.ZONE_FIELDS}
                ),
                update=lambda zone, data: services.zone_update(zone=zone, data=data),
                delete=lambda zone: services.zone_delete(zone=zone),
            )
        elif formset.model is FacilityPhoto:
            _save_formset_through(
                formset,
                create=None,
                update=lambda photo, data: photos.photo_update(photo=photo, data=data),
                delete=lambda photo: photos.photo_delete(photo=photo),
            )
        else:
            # Spots: the inline is read-only. commit=False writes nothing; it only fills in what the
            # change message reads (new/changed/deleted objects, all empty here).
            formset.save(commit=False)

    def delete_model(self, request: HttpRequest, obj: Facility) -> None:
        with transaction.atomic():
            # Photos first, so their files are removed (after commit) too.
            for photo in photos.photo_list(facility=obj):
                photos.photo_delete(photo=photo)
            services.facility_delete(facility=obj)


# ---------------------------------------------------------------------------- zones


@admin.register(Zone)
class ZoneAdmin(InventoryAdmin):
    list_display = ("name", "facility", "level", "kind", "display_order", "spot_count")
    list_filter = (
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("facility", admin.RelatedOnlyFieldListFilter),
        "kind",
    )
    list_select_related = ("facility",)
    search_fields = ("name", "facility__name")
    fields = ("facility", "name", "level", "kind", "display_order", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Zone]:
        return super().get_queryset(request).annotate(spot_total=Count("spots", distinct=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Zone | None = None) -> tuple[str, ...]:
        return ("facility", "created_at", "updated_at") if obj else ("created_at", "updated_at")

    @admin.display(description="spots", ordering="spot_total")
    def spot_count(self, zone: Zone) -> int:
        return int(getattr(zone, "spot_total", 0))

    def save_model(self, request: HttpRequest, obj: Zone, form: Any, change: bool) -> None:
        if change:
            saved = services.zone_update(zone=Zone.objects.get(pk=obj.pk), data=_changes(form, services.ZONE_FIELDS))
        else:
            data = {key: value for key, value in form.cleaned_data.items() if key in services.ZONE_FIELDS}
            saved = services.zone_create(facility=form.cleaned_data["facility"], data=data)
        copy_saved(saved, obj)

    def delete_model(self, request: HttpRequest, obj: Zone) -> None:
        services.zone_delete(zone=obj)


# ---------------------------------------------------------------------------- spots


class SpotAdminForm(forms.ModelForm):
    """Checks the spot code and zone up front, so the usual mistakes are form errors; the services
    check again when saving."""

    class Meta:
        model = Spot
        fields = ("zone", *sorted(services.SPOT_FIELDS))

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        zone: Zone | None = cleaned.get("zone")
        adding = self.instance._state.adding
        if zone is not None and not adding and zone.facility_id != self.instance.facility_id:
            self.add_error("zone", "A spot can only move to a zone of the same facility.")
            return cleaned
        code = str(cleaned.get("code") or "").strip()
        facility_id = zone.facility_id if zone is not None else None if adding else self.instance.facility_id
        if code and facility_id is not None:
            taken = Spot.objects.filter(facility_id=facility_id, code=code)
            if not adding:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("code", f"Spot code {code!r} is already used in this facility.")
        return cleaned


@admin.register(Spot)
class SpotAdmin(InventoryAdmin):
    form = SpotAdminForm
    list_display = (
        "code",
        "facility",
        "zone_name",
        "size",
        "category",
        "status",
        "has_ev_charger",
        "is_accessible",
        "is_covered",
    )
    list_filter = (
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("facility", admin.RelatedOnlyFieldListFilter),
        "status",
        "category",
        "size",
    )
    list_select_related = ("facility", "zone")
    search_fields = ("code", "facility__name", "zone__name")
    ordering = ("facility__name", "code")
    actions = ("put_into_maintenance", "back_to_active")
    fields = (
        "facility",
        "zone",
        "code",
        "size",
        "category",
        "status",
        "has_ev_charger",
        "ev_charger_status",
        "is_accessible",
        "is_covered",
        "grid_row",
        "grid_column",
        "created_at",
        "updated_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Spot | None = None) -> tuple[str, ...]:
        return ("facility", "created_at", "updated_at")

    @admin.display(description="zone", ordering="zone__name")
    def zone_name(self, spot: Spot) -> str:
        return spot.zone.name

    def save_model(self, request: HttpRequest, obj: Spot, form: Any, change: bool) -> None:
        if change:
            data = _changes(form, services.SPOT_FIELDS)
            if "zone" in form.changed_data:
                data["zone"] = form.cleaned_data["zone"]
            saved = services.spot_update(spot=Spot.objects.get(pk=obj.pk), data=data)
        else:
            data = {key: value for key, value in form.cleaned_data.items() if key in services.SPOT_FIELDS}
            saved = services.spot_create(zone=form.cleaned_data["zone"], data=data)
        copy_saved(saved, obj)

    def delete_model(self, request: HttpRequest, obj: Spot) -> None:
        services.spot_delete(spot=obj)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Spot], status: str, label: str) -> None:
        spots = list(queryset)
        changed = services.spot_bulk_set_status(spots=spots, status=status)
        unchanged = len(spots) - changed
        suffix = f" ({unchanged} already were)" if unchanged else ""
        self.message_user(request, f"{changed} spot(s) {label}{suffix}.", level=messages.SUCCESS)

    @admin.action(description="Put into maintenance", permissions=["change"])
    def put_into_maintenance(self, request: HttpRequest, queryset: QuerySet[Spot]) -> None:
        self._set_status(request, queryset, SpotStatus.MAINTENANCE, "put into maintenance")

    @admin.action(description="Back to active", permissions=["change"])
    def back_to_active(self, request: HttpRequest, queryset: QuerySet[Spot]) -> None:
        self._set_status(request, queryset, SpotStatus.ACTIVE, "back to active")


# ---------------------------------------------------------------------------- blocks

BLOCK_UPDATE_FIELDS = ("start", "end", "reason", "note")


@admin.register(SpotBlock)
class SpotBlockAdmin(InventoryAdmin):
    list_display = ("facility", "scope", "start", "end", "reason", "note", "created_by")
    list_filter = (
        "reason",
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("facility", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("facility", "zone", "spot", "created_by")
    search_fields = ("note", "facility__name", "spot__code", "zone__name")
    date_hierarchy = "start"
    fields = ("facility", "zone", "spot", "start", "end", "reason", "note", "created_by", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: SpotBlock | None = None) -> tuple[str, ...]:
        # The scope of an existing block is fixed (block_update changes the window, reason and note).
        if obj:
            return ("facility", "zone", "spot", "created_by", "created_at")
        return ("created_by", "created_at")

    @admin.display(description="scope")
    def scope(self, block: SpotBlock) -> str:
        if block.spot_id is not None and block.spot is not None:
            return f"spot {block.spot.code}"
        if block.zone_id is not None and block.zone is not None:
            return f"zone {block.zone.name}"
        return "whole facility"

    def save_model(self, request: HttpRequest, obj: SpotBlock, form: Any, change: bool) -> None:
        if change:
            saved = services.block_update(
                block=SpotBlock.objects.get(pk=obj.pk), data=_changes(form, BLOCK_UPDATE_FIELDS)
            )
        else:
            actor = request.user
            assert isinstance(actor, User)  # the admin site only lets authenticated staff in
            cleaned = form.cleaned_data
            saved = services.block_create(
                actor=actor,
                facility=cleaned["facility"],
                start=cleaned["start"],
                end=cleaned["end"],
                reason=cleaned["reason"],
                note=cleaned.get("note") or "",
                zone=cleaned.get("zone"),
                spot=cleaned.get("spot"),
            )
        copy_saved(saved, obj)

    def delete_model(self, request: HttpRequest, obj: SpotBlock) -> None:
        services.block_delete(block=obj)


# ---------------------------------------------------------------------------- photos


class FacilityPhotoAdminForm(forms.ModelForm):
    class Meta:
        model = FacilityPhoto
        fields = ("facility", "image", "caption", "position")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "position" in self.fields:
            self.fields["position"].required = False
            self.fields["position"].help_text = "Sort key; leave empty to put the photo last."

    def clean_image(self) -> Any:
        image = self.cleaned_data.get("image")
        if image is not None and self.instance._state.adding:
            try:
                photos.photo_check_file(image)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return image


@admin.register(FacilityPhoto)
class FacilityPhotoAdmin(InventoryAdmin):
    form = FacilityPhotoAdminForm
    organization_field = "facility__organization_id"
    list_display = ("thumbnail", "facility", "caption", "position", "content_type", "created_at")
    list_display_links = ("thumbnail", "facility")
    list_filter = (("facility", admin.RelatedOnlyFieldListFilter), "content_type")
    list_select_related = ("facility",)
    search_fields = ("caption", "facility__name")
    ordering = ("facility__name", "position", "id")

    def get_fields(self, request: HttpRequest, obj: FacilityPhoto | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("facility", "image", "caption", "position")
        return ("facility", "preview", "image", "content_type", "caption", "position", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: FacilityPhoto | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # The file is fixed once uploaded: upload a new photo and delete this one to replace it.
        return ("facility", "preview", "image", "content_type", "created_at")

    @admin.display(description="photo")
    def thumbnail(self, photo: FacilityPhoto) -> str:
        return _thumbnail(photo)

    @admin.display(description="preview")
    def preview(self, photo: FacilityPhoto) -> str:
        if not photo.image:
            return "-"
        return format_html('<img src="{}" alt="" style="max-height: 240px">', photo.image.url)

    def save_model(self, request: HttpRequest, obj: FacilityPhoto, form: Any, change: bool) -> None:
        if change:
            saved = photos.photo_update(
                photo=FacilityPhoto.objects.get(pk=obj.pk), data=_changes(form, photos.PHOTO_UPDATE_FIELDS)
            )
        else:
            cleaned = form.cleaned_data
            saved = photos.photo_create(
                facility=cleaned["facility"],
                file=cleaned["image"],
                caption=cleaned.get("caption") or "",
                position=cleaned.get("position"),
            )
        copy_saved(saved, obj)

    def delete_model(self, request: HttpRequest, obj: FacilityPhoto) -> None:
        photos.photo_delete(photo=obj)
