"""Booking list filters, shared by the driver/owner list and the organization list."""

from django.db.models import QuerySet
from django.views.decorators.debug import sensitive_variables
from django_filters import rest_framework as filters

from accounts.models import User
from accounts.selectors import organization_ids_for
from bookings.models import Booking, BookingStatus
from vehicles.plates import normalize_plate, plate_blind_index


class BookingFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")
    status = filters.ChoiceFilter(choices=BookingStatus.choices)
    date_from = filters.IsoDateTimeFilter(field_name="end", lookup_expr="gt", label="Bookings ending after")
    date_to = filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt", label="Bookings starting before")
    plate = filters.CharFilter(method="filter_plate", label="Exact licence plate (any spelling; matched by index)")

    class Meta:
        model = Booking
        fields: tuple[str, ...] = ("facility", "status", "date_from", "date_to", "plate")

    @sensitive_variables()
    def filter_plate(self, queryset: QuerySet[Booking], name: str, value: str) -> QuerySet[Booking]:
        # InvalidPlateError is a 400 on ``plate`` whose message never repeats the value.
        return queryset.filter(plate_index=plate_blind_index(normalize_plate(value)))


class VisibleBookingFilter(BookingFilter):
    """``GET /bookings/``: the actor's own bookings and their organizations' bookings; ``scope`` narrows."""

    scope = filters.ChoiceFilter(
        method="filter_scope",
        choices=(("driver", "driver"), ("organization", "organization")),
        label="`driver`: only bookings you made; `organization`: only your organizations' bookings",
    )

    class Meta(BookingFilter.Meta):
        fields = (*BookingFilter.Meta.fields, "scope")

    def filter_scope(self, queryset: QuerySet[Booking], name: str, value: str) -> QuerySet[Booking]:
        actor = self.request.user
        assert isinstance(actor, User)
        if value == "driver":
            return queryset.filter(driver=actor)
        return queryset.filter(organization_id__in=organization_ids_for(actor=actor))
