from django.urls import URLPattern, URLResolver, path

from . import staff

# Owner/staff booking endpoints (see bookings/api/staff.py).
PREFIX = "organizations/<uuid:organization_id>/bookings/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(PREFIX, staff.StaffBookingListApi.as_view(), name="organization-bookings"),
    path(
        f"{PREFIX}<uuid:booking_id>/cancel/",
        staff.StaffBookingCancelApi.as_view(),
        name="organization-booking-cancel",
    ),
    path(
        f"{PREFIX}<uuid:booking_id>/check-in/",
        staff.StaffBookingCheckInApi.as_view(),
        name="organization-booking-check-in",
    ),
    path(
        f"{PREFIX}<uuid:booking_id>/check-out/",
        staff.StaffBookingCheckOutApi.as_view(),
        name="organization-booking-check-out",
    ),
    path(
        f"{PREFIX}<uuid:booking_id>/move/",
        staff.StaffBookingMoveApi.as_view(),
        name="organization-booking-move",
    ),
]
