from django.urls import include, path

from . import sessions, views

urlpatterns = [
    path("", include("bookings.api.credential_urls")),
    path("", include("bookings.api.staff_urls")),
    path("bookings/", views.BookingListApi.as_view(), name="bookings"),
    path("bookings/drive-in/", sessions.DriveInApi.as_view(), name="bookings-drive-in"),
    path("bookings/<uuid:booking_id>/end-session/", sessions.EndSessionApi.as_view(), name="booking-end-session"),
    path("bookings/<uuid:booking_id>/", views.BookingDetailApi.as_view(), name="booking-detail"),
    path(
        "bookings/<uuid:booking_id>/cancellation-preview/",
        views.BookingCancellationPreviewApi.as_view(),
        name="booking-cancellation-preview",
    ),
    path("bookings/<uuid:booking_id>/cancel/", views.BookingCancelApi.as_view(), name="booking-cancel"),
    path("bookings/<uuid:booking_id>/check-in/", views.BookingCheckInApi.as_view(), name="booking-check-in"),
    path("bookings/<uuid:booking_id>/check-out/", views.BookingCheckOutApi.as_view(), name="booking-check-out"),
    path(
        "bookings/<uuid:booking_id>/extension-quote/",
        views.BookingExtensionQuoteApi.as_view(),
        name="booking-extension-quote",
    ),
    path("bookings/<uuid:booking_id>/extend/", views.BookingExtendApi.as_view(), name="booking-extend"),
    path(
        "bookings/<uuid:booking_id>/report-issue/", views.BookingReportIssueApi.as_view(), name="booking-report-issue"
    ),
]
