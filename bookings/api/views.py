"""Driver booking endpoints. Thin: validate, call one service/selector, serialize."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError
from bookings import issues, selectors, services
from bookings.models import Booking
from idempotency.decorators import IDEMPOTENCY_ERROR_RESPONSES, idempotent
from parking import selectors as parking_selectors
from parking.models import Zone
from vehicles.models import Vehicle

from .filters import VisibleBookingFilter
from .serializers import (
    BookingCancelInputSerializer,
    BookingCancelOutputSerializer,
    BookingCreateInputSerializer,
    BookingExtendInputSerializer,
    BookingExtendOutputSerializer,
    BookingOutputSerializer,
    CancellationPreviewOutputSerializer,
    ExtensionQuoteOutputSerializer,
    ReportIssueInputSerializer,
    ReportIssueOutputSerializer,
)

CONFLICT = OpenApiResponse(
    ClientErrorResponseSerializer,
    description="`spot_unavailable`, `invalid_transition`, `quote_expired`, `no_pricing_rule` or `resource_busy`.",
)


@extend_validation_errors(["invalid_plate"], field_name="plate", methods=["get"])
class BookingListApi(generics.GenericAPIView):
    serializer_class = BookingOutputSerializer
    filterset_class = VisibleBookingFilter
    ordering_fields = ("start", "created_at")

    def get_queryset(self) -> QuerySet[Booking]:
        return selectors.booking_list_visible(actor=_user(self.request))

    @extend_schema(
        operation_id="bookings_list",
        tags=["bookings"],
        summary="My bookings, and my organizations' bookings",
        description=(
            "A driver sees the bookings they made. Owners, managers and staff also see every booking of their "
            "organizations (`scope=driver` or `scope=organization` narrows). `date_from`/`date_to` select "
            "bookings overlapping the window; `plate` matches the exact plate in any spelling "
            "(`ab-12 cd` = `AB12CD`). Newest start first."
        ),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BookingOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="bookings_create",
        tags=["bookings"],
        request=BookingCreateInputSerializer,
        responses={201: BookingOutputSerializer, **IDEMPOTENCY_ERROR_RESPONSES, 409: CONFLICT},
        summary="Book a spot, or the best-fit free spot of a facility",
        description=(
            "With `facility` the platform picks the smallest compatible free spot (then the category made for "
            "the vehicle, then a stable order). Facilities that require prepayment start the booking "
            "`pending_payment` with a 15-minute hold (`hold_expires_at`); others start `confirmed`. "
            "A taken spot is 409 `spot_unavailable`."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        driver = _user(request)
        data = _validated(BookingCreateInputSerializer, request.data)
        vehicle = Vehicle.objects.filter(pk=data["vehicle"], owner=driver).first()
        if vehicle is None:
            raise ApplicationError("No such vehicle among yours.", code="does_not_exist", attr="vehicle")
        spot = zone = None
        if data.get("spot"):
            spot = parking_selectors.spot_get_visible(actor=driver, spot_id=data["spot"])
            facility = spot.facility
        else:
            facility, _ = parking_selectors.facility_get_visible(actor=driver, facility_id=data["facility"])
            if data.get("zone"):
                zone = Zone.objects.filter(pk=data["zone"], facility=facility).first()
                if zone is None:
                    raise ApplicationError("No such zone in this facility.", code="does_not_exist", attr="zone")
        booking = services.booking_create(
            services.BookingRequest(
                driver=driver,
                vehicle=vehicle,
                facility=facility,
                spot=spot,
                zone=zone,
                start=data["start"],
                end=data["end"],
                quote_id=data.get("quote_id"),
                promo_code=data.get("promo_code", ""),
            )
        )
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking.pk)
        return Response(BookingOutputSerializer(booking).data, status=status.HTTP_201_CREATED)


class BookingDetailApi(generics.GenericAPIView):
    serializer_class = BookingOutputSerializer

    @extend_schema(
        operation_id="bookings_retrieve",
        tags=["bookings"],
        description="One of your bookings or of your organizations' bookings; anything else is 404.",
    )
    def get(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_visible(actor=_user(request), booking_id=booking_id)
        return Response(BookingOutputSerializer(booking).data)


class BookingCancellationPreviewApi(generics.GenericAPIView):
    serializer_class = CancellationPreviewOutputSerializer

    @extend_schema(
        operation_id="bookings_cancellation_preview",
        tags=["bookings"],
        responses={200: CancellationPreviewOutputSerializer, 409: CONFLICT},
        summary="What cancelling now would refund",
    )
    def get(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking_id)
        terms = services.cancellation_preview(booking=booking)
        return Response(
            CancellationPreviewOutputSerializer(
                {
                    "refund_amount": terms.refund_amount,
                    "kept_amount": terms.kept_amount,
                    "free": terms.free,
                    "currency": booking.currency,
                }
            ).data
        )


class BookingCancelApi(generics.GenericAPIView):
    serializer_class = BookingCancelInputSerializer

    @extend_schema(
        operation_id="bookings_cancel",
        tags=["bookings"],
        request=BookingCancelInputSerializer,
        responses={200: BookingCancelOutputSerializer, 409: CONFLICT},
        summary="Cancel; refunds exactly what the preview showed (recorded for the payments step)",
    )
    def post(self, request: Request, booking_id: str) -> Response:
        driver = _user(request)
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking_id)
        data = _validated(BookingCancelInputSerializer, request.data)
        booking, terms = services.booking_cancel(booking_id=booking.pk, actor=driver, reason=data["reason"])
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking.pk)
        return Response(BookingCancelOutputSerializer({"booking": booking, "refund_amount": terms.refund_amount}).data)


def _own_booking_response(request: Request, booking: Booking) -> Response:
    booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking.pk)
    return Response(BookingOutputSerializer(booking).data)


class BookingCheckInApi(generics.GenericAPIView):
    serializer_class = BookingOutputSerializer

    @extend_schema(
        operation_id="bookings_check_in",
        tags=["bookings"],
        request=None,
        responses={200: BookingOutputSerializer, 409: CONFLICT},
        summary="Check in (from the facility's early check-in window on)",
    )
    def post(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking_id)
        return _own_booking_response(request, services.booking_check_in(booking_id=booking.pk, actor=_user(request)))


class BookingCheckOutApi(generics.GenericAPIView):
    serializer_class = BookingOutputSerializer

    @extend_schema(
        operation_id="bookings_check_out",
        tags=["bookings"],
        request=None,
        responses={200: BookingOutputSerializer, 409: CONFLICT},
        summary="Check out; records an early-exit refund or an overstay charge",
    )
    def post(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking_id)
        return _own_booking_response(request, services.booking_check_out(booking_id=booking.pk, actor=_user(request)))


class BookingExtensionQuoteApi(generics.GenericAPIView):
    serializer_class = BookingExtendInputSerializer

    @extend_schema(
        operation_id="bookings_extension_quote",
        tags=["bookings"],
        request=BookingExtendInputSerializer,
        responses={200: ExtensionQuoteOutputSerializer, 409: CONFLICT},
        summary="What moving the end later would cost",
    )
    def post(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking_id)
        data = _validated(BookingExtendInputSerializer, request.data)
        terms = services.extension_quote(booking=booking, new_end=data["end"])
        return Response(ExtensionQuoteOutputSerializer(terms).data)


class BookingExtendApi(generics.GenericAPIView):
    serializer_class = BookingExtendInputSerializer

    @extend_schema(
        operation_id="bookings_extend",
        tags=["bookings"],
        request=BookingExtendInputSerializer,
        responses={200: BookingExtendOutputSerializer, 409: CONFLICT},
        summary="Move the end later on the same spot (409 names when the spot is next taken)",
    )
    def post(self, request: Request, booking_id: str) -> Response:
        driver = _user(request)
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking_id)
        data = _validated(BookingExtendInputSerializer, request.data)
        booking, terms = services.booking_extend(booking_id=booking.pk, actor=driver, new_end=data["end"])
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking.pk)
        return Response(BookingExtendOutputSerializer({"booking": booking, "extension": terms}).data)


class BookingReportIssueApi(generics.GenericAPIView):
    serializer_class = ReportIssueInputSerializer

    @extend_schema(
        operation_id="bookings_report_issue",
        tags=["bookings"],
        request=ReportIssueInputSerializer,
        responses={
            201: ReportIssueOutputSerializer,
            400: OpenApiResponse(ClientErrorResponseSerializer),
            409: CONFLICT,
        },
        summary="Report a problem on site; `spot_occupied` moves the booking at once or cancels it with a full refund",
        description=(
            "During the booking's window (from the early check-in time to the end), for a confirmed or parked "
            "booking. `spot_occupied`: the booking is moved to another free compatible spot of the facility "
            "(`outcome: moved`, the new spot in `booking`), or, when none is free, cancelled with everything "
            "refunded (`outcome: cancelled`). Staff are alerted by email in every case."
        ),
    )
    def post(self, request: Request, booking_id: str) -> Response:
        driver = _user(request)
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking_id)
        data = _validated(ReportIssueInputSerializer, request.data)
        report = issues.booking_report_issue(booking=booking, reporter=driver, kind=data["kind"], note=data["note"])
        booking = selectors.booking_get_for_driver(driver=driver, booking_id=booking.pk)
        output = {"id": report.pk, "kind": report.kind, "outcome": report.outcome, "booking": booking}
        return Response(ReportIssueOutputSerializer(output).data, status=status.HTTP_201_CREATED)
