"""Back office for vehicles. Writes go through ``vehicles.services``; plates are found by blind index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from app.exceptions import ApplicationError

from .countries import normalize_country
from .exceptions import DefaultVehicleRequiredError, DuplicatePlateError, InvalidPlateError
from .models import Vehicle
from .plates import normalize_plate, plate_blind_index
from .selectors import vehicle_plate_taken
from .services import VehicleUpdateData, vehicle_create, vehicle_delete, vehicle_update

_MODEL_FIELDS = ("plate", "country", "vehicle_type", "is_ev", "make", "model", "color", "nickname")
# ``is_default`` is edited through a plain form field: as a model field, Django's form validation
# would check vehicle_one_default_per_owner and refuse "make this the default" outright, whereas the
# service moves the default from the previous vehicle.
_FORM_FIELDS = (*_MODEL_FIELDS, "make_default")


def plate_index_for_search(term: str) -> str | None:
    """The blind index of ``term`` read as a plate, or ``None`` if it cannot be one (an email, say)."""
    try:
        return plate_blind_index(normalize_plate(term))
    except InvalidPlateError:
        return None


class PlateSearchMixin:
    """Admin search that also finds rows by exact licence plate (any spelling) through the
    ``plate_index`` blind index column; plates themselves are never searchable."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        index = plate_index_for_search(search_term) if search_term else None
        if index is not None:
            results |= queryset.filter(plate_index=index)
        return results, may_have_duplicates


class VehicleAdminForm(forms.ModelForm):
    """Checks the service rules up front so the admin shows them as form errors; the services check
    them again under lock when saving (``VehicleAdmin.save_model``)."""

    plate = forms.CharField(
        max_length=32, help_text="Stored normalised (upper case, without spaces, dashes and dots) and encrypted."
    )
    make_default = forms.BooleanField(
        label="Default vehicle",
        required=False,
        help_text="Makes this the owner's default vehicle (the previous default is unset). "
        "An owner's first vehicle is always the default.",
    )

    class Meta:
        model = Vehicle
        fields = ("owner", *_MODEL_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial.setdefault("make_default", self.instance.is_default)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        adding = self.instance._state.adding
        owner = cleaned.get("owner") if adding else self.instance.owner
        if cleaned.get("plate"):
            cleaned["plate"] = self._check(normalize_plate, cleaned["plate"])
            if cleaned["plate"] is not None and owner is not None:
                taken = vehicle_plate_taken(
                    owner=owner,
                    plate_index=plate_blind_index(cleaned["plate"]),
                    exclude_id=None if adding else self.instance.pk,
                )
                if taken:
                    self._add_domain_error(DuplicatePlateError())
        if "country" in cleaned:
            cleaned["country"] = self._check(normalize_country, cleaned["country"])
        if not adding and self.instance.is_default and not cleaned.get("make_default"):
            self._add_domain_error(DefaultVehicleRequiredError())
        return cleaned

    def _check(self, normalize: Callable[[Any], Any], value: Any) -> Any:
        try:
            return normalize(value)
        except ApplicationError as error:
            self._add_domain_error(error)
            return None

    def _add_domain_error(self, error: ApplicationError) -> None:
        field = "make_default" if error.attr == "is_default" else error.attr
        self.add_error(field if field in self.fields else None, error.message)


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    """Platform admins only: drivers' vehicles are personal data, not an organization's (staff find
    bookings by plate in the bookings admin)."""

    form = VehicleAdminForm
    list_display = ("nickname", "owner_email", "vehicle_type", "is_ev", "is_default", "created_at")
    list_display_links = ("nickname", "owner_email")
    list_filter = ("vehicle_type", "is_ev", "is_default", "country", "created_at")
    list_select_related = ("owner",)
    search_fields = ("owner__email",)
    search_help_text = "Owner email, or an exact licence plate in any spelling (“ab-12 cd” finds AB12CD)."

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

    raw_id_fields = ("owner",)
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vehicle]:
        # Lists never need the plate: it is decrypted only when a change page reads it.
        return super().get_queryset(request).defer("plate")

    @admin.display(description="owner email", ordering="owner__email")
    def owner_email(self, vehicle: Vehicle) -> str:
        return vehicle.owner.email

    def get_fields(self, request: HttpRequest, obj: Vehicle | None = None) -> Any:
        if obj is None:
            return ("owner", *_FORM_FIELDS)
        return ("id", "owner", *_FORM_FIELDS, "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Vehicle | None = None) -> Any:
        if obj is None:
            return ()
        return ("id", "owner", "created_at", "updated_at")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Vehicle], search_term: str) -> Any:
        """Owner email (contains), or an exact plate through the blind index (the plate column is
        encrypted and cannot be searched)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        plate_index = plate_index_for_search(search_term) if search_term else None
        if plate_index is not None:
            results = results | queryset.filter(plate_index=plate_index)
        return results, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Vehicle, form: forms.ModelForm, change: bool) -> None:
        data = {field: form.cleaned_data[field] for field in _MODEL_FIELDS}
        data["is_default"] = form.cleaned_data["make_default"]
        if change:
            changed = {"is_default" if field == "make_default" else field for field in form.changed_data}
            changes = {field: value for field, value in data.items() if field in changed}
            saved = vehicle_update(owner=obj.owner, vehicle_id=obj.pk, data=cast(VehicleUpdateData, changes))
        else:
            saved = vehicle_create(owner=form.cleaned_data["owner"], **data)
        # The admin goes on with ``obj`` (messages, redirect, history): make it the saved row.
        for field in Vehicle._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def delete_model(self, request: HttpRequest, obj: Vehicle) -> None:
        vehicle_delete(owner=obj.owner, vehicle_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Vehicle]) -> None:
        for vehicle in queryset.select_related("owner"):
            vehicle_delete(owner=vehicle.owner, vehicle_id=vehicle.pk)
