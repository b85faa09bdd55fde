from django.urls import URLPattern, URLResolver, path

from . import credentials

# Credential and calendar endpoints (see bookings/api/credentials.py).
urlpatterns: list[URLPattern | URLResolver] = [
    path("bookings/credential-keys/", credentials.CredentialKeysApi.as_view(), name="booking-credential-keys"),
    path(
        "bookings/<uuid:booking_id>/credential/",
        credentials.BookingCredentialApi.as_view(),
        name="booking-credential",
    ),
    path(
        "bookings/<uuid:booking_id>/calendar.ics",
        credentials.BookingCalendarApi.as_view(),
        name="booking-calendar",
    ),
]
