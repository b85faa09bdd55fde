"""Owner/staff booking endpoints under ``organizations/{organization_id}/bookings/``.

Any member role of the organization may use them; another organization (or its bookings) is 404.
Thin: validate, call one service/selector, serialize. Plates are shown to members (their facility's
bookings) but never logged.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import organization_get
from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from bookings import selectors, services, staff_services
from bookings.models import Booking

from .filters import BookingFilter

CONFLICT = OpenApiResponse(
    ClientErrorResponseSerializer,
    description="`spot_unavailable`, `invalid_transition`, `check_in_too_early` or `resource_busy`.",
)


# ---------------------------------------------------------------------------------------- serializers
class StaffBookingOutputSerializer(serializers.ModelSerializer[Booking]):
    spot_code = serializers.CharField(source="spot.code", read_only=True)
    zone_name = serializers.CharField(source="zone.name", read_only=True)
    facility_name = serializers.CharField(source="facility.name", read_only=True)
    plate = serializers.CharField(read_only=True, allow_null=True, help_text="The booked vehicle's plate (normalised).")
    # Plain text: a second component with the booking-kind choices would make the schema's enum name ambiguous.
    kind = serializers.CharField(read_only=True, help_text="`reservation` or `drive_in`.")

    class Meta:
        model = Booking
        fields = (
            "id",
            "reference",
            "kind",
            "source",
            "status",
            "facility",
            "facility_name",
            "zone",
            "zone_name",
            "spot",
            "spot_code",
            "vehicle_type",
            "plate",
            "start",
            "end",
            "checked_in_at",
            "checked_out_at",
            "hold_expires_at",
            "currency",
            "parking_amount",
            "discount_amount",
            "service_fee",
            "transaction_fee",
            "total",
            "cancellation_reason",
            "refund_amount",
            "early_exit_refund_amount",
            "overstay_amount",
            "created_at",
        )
        read_only_fields = fields


class StaffBookingCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Required when staff cancel.")


class StaffBookingCancelOutputSerializer(serializers.Serializer):
    booking = StaffBookingOutputSerializer()
    refund_amount = serializers.IntegerField(help_text="Minor units refunded (recorded for the payments step).")


class StaffBookingMoveInputSerializer(serializers.Serializer):
    spot = serializers.IntegerField(help_text="A free spot of the same facility that fits the vehicle.")


# ---------------------------------------------------------------------------------------- list
@extend_validation_errors(["invalid_plate"], field_name="plate", methods=["get"])
class StaffBookingListApi(generics.GenericAPIView):
    # For schema generation only (the model behind the filter parameters); data comes from the selector.
    queryset = Booking.objects.none()
    serializer_class = StaffBookingOutputSerializer
    filter_backends = (filters.DjangoFilterBackend,)
    filterset_class = BookingFilter

    @extend_schema(
        operation_id="organization_bookings_list",
        tags=["bookings"],
        summary="The organization's bookings (any member role)",
        description=(
            "Ordered by start. `date_from`/`date_to` select bookings overlapping the window; `plate` matches "
            "the exact plate in any spelling (`ab-12 cd` = `AB12CD`). Another organization is 404."
        ),
        responses=StaffBookingOutputSerializer(many=True),
    )
    def get(self, request: Request, organization_id: str) -> Response:
        actor = _user(request)
        organization = organization_get(actor=actor, organization_id=organization_id)
        bookings = selectors.booking_list_for_organization(actor=actor, organization_id=organization.pk)
        page = self.paginate_queryset(self.filter_queryset(bookings))
        return self.get_paginated_response(StaffBookingOutputSerializer(page, many=True).data)


# ---------------------------------------------------------------------------------------- actions
class _StaffBookingActionApi(generics.GenericAPIView):
    queryset = Booking.objects.none()
    filter_backends = ()

    def _booking(self, request: Request, organization_id: str, booking_id: str) -> Booking:
        return selectors.booking_get_for_organization(
            actor=_user(request), organization_id=organization_id, booking_id=booking_id
        )

    def _respond(self, request: Request, organization_id: str, booking: Booking) -> Response:
        booking = self._booking(request, organization_id, str(booking.pk))
        return Response(StaffBookingOutputSerializer(booking).data)


class StaffBookingCancelApi(_StaffBookingActionApi):
    serializer_class = StaffBookingCancelInputSerializer

    @extend_schema(
        operation_id="organization_bookings_cancel",
        tags=["bookings"],
        request=StaffBookingCancelInputSerializer,
        responses={200: StaffBookingCancelOutputSerializer, 409: CONFLICT},
        summary="Cancel a booking for the driver (reason required); refunds per the cancellation policy",
    )
    def post(self, request: Request, organization_id: str, booking_id: str) -> Response:
        actor = _user(request)
        booking = self._booking(request, organization_id, booking_id)
        data = _validated(StaffBookingCancelInputSerializer, request.data)
        booking, terms = services.booking_cancel(booking_id=booking.pk, actor=actor, reason=data["reason"])
        booking = self._booking(request, organization_id, str(booking.pk))
        return Response(
            StaffBookingCancelOutputSerializer({"booking": booking, "refund_amount": terms.refund_amount}).data
        )


class StaffBookingCheckInApi(_StaffBookingActionApi):
    serializer_class = StaffBookingOutputSerializer

    @extend_schema(
        operation_id="organization_bookings_check_in",
        tags=["bookings"],
        request=None,
        responses={200: StaffBookingOutputSerializer, 409: CONFLICT},
        summary="Check the booking in (from the facility's early check-in window on)",
    )
    def post(self, request: Request, organization_id: str, booking_id: str) -> Response:
        booking = self._booking(request, organization_id, booking_id)
        booking = services.booking_check_in(booking_id=booking.pk, actor=_user(request))
        return self._respond(request, organization_id, booking)


class StaffBookingCheckOutApi(_StaffBookingActionApi):
    serializer_class = StaffBookingOutputSerializer

    @extend_schema(
        operation_id="organization_bookings_check_out",
        tags=["bookings"],
        request=None,
        responses={200: StaffBookingOutputSerializer, 409: CONFLICT},
        summary="Check the booking out; records an early-exit refund or an overstay charge",
    )
    def post(self, request: Request, organization_id: str, booking_id: str) -> Response:
        booking = self._booking(request, organization_id, booking_id)
        booking = services.booking_check_out(booking_id=booking.pk, actor=_user(request))
        return self._respond(request, organization_id, booking)


@extend_validation_errors(["invalid", "vehicle_does_not_fit"], field_name="spot", methods=["post"])
class StaffBookingMoveApi(_StaffBookingActionApi):
    serializer_class = StaffBookingMoveInputSerializer

    @extend_schema(
        operation_id="organization_bookings_move",
        tags=["bookings"],
        request=StaffBookingMoveInputSerializer,
        responses={200: StaffBookingOutputSerializer, 409: CONFLICT},
        summary="Move an active booking to another free, compatible spot of the same facility",
        description=(
            "The price does not change. A spot outside the booking's facility is 400 on `spot`; a spot the "
            "vehicle does not fit is 400 `vehicle_does_not_fit`; a taken spot is 409 `spot_unavailable`; a "
            "booking that is not pending payment, confirmed or checked in is 409 `invalid_transition`."
        ),
    )
    def post(self, request: Request, organization_id: str, booking_id: str) -> Response:
        booking = self._booking(request, organization_id, booking_id)
        data = _validated(StaffBookingMoveInputSerializer, request.data)
        booking = staff_services.booking_move(booking_id=booking.pk, actor=_user(request), spot_id=data["spot"])
        return self._respond(request, organization_id, booking)
