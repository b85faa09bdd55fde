"""Drive-in sessions for staff (and, with the gates issue, for gate devices)."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from app.api.helpers import request_user as _user
from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError, NotFoundError
from bookings import sessions
from bookings.credentials import credential_issue
from bookings.models import Booking, BookingSource
from parking import selectors as parking_selectors
from vehicles.models import VehicleType

from .staff import StaffBookingOutputSerializer

CONFLICT = OpenApiResponse(
    ClientErrorResponseSerializer,
    description="`session_already_open`, `spot_unavailable`, `invalid_transition` or `no_pricing_rule`.",
)


class DriveInInputSerializer(serializers.Serializer):
    facility = serializers.IntegerField()
    plate = serializers.CharField(max_length=32)
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices)


class DriveInCredentialSerializer(serializers.Serializer):
    payload = serializers.CharField(help_text="Signed gate credential (see docs/api.md), for the exit QR.")
    kid = serializers.CharField()
    expires_at = serializers.DateTimeField()


class DriveInOutputSerializer(serializers.Serializer):
    booking = StaffBookingOutputSerializer()
    credential = DriveInCredentialSerializer()


class DriveInApi(generics.GenericAPIView):
    serializer_class = DriveInInputSerializer
    queryset = Booking.objects.none()
    filter_backends = ()

    @extend_schema(
        operation_id="bookings_drive_in",
        tags=["bookings"],
        request=DriveInInputSerializer,
        responses={201: DriveInOutputSerializer, 409: CONFLICT},
        summary="Open a drive-in session now (staff of the facility's organization)",
        description=(
            "Assigns the best-fit spot that is free for the drive-in horizon (`DRIVE_IN_HORIZON_MINUTES`, "
            "default 3 h); the response carries the ticket reference and a signed credential for the exit."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = DriveInInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        try:
            facility = parking_selectors.facility_get_managed(actor=_user(request), facility_id=data["facility"])
        except NotFoundError as exc:
            raise ApplicationError(
                "No such facility among those you manage.", code="does_not_exist", attr="facility"
            ) from exc
        booking = sessions.session_open(
            actor=_user(request),
            facility=facility,
            plate=data["plate"],
            vehicle_type=data["vehicle_type"],
            source=BookingSource.STAFF,
        )
        credential = credential_issue(booking)
        return Response(
            DriveInOutputSerializer(
                {
                    "booking": booking,
                    "credential": {
                        "payload": credential.payload,
                        "kid": credential.kid,
                        "expires_at": credential.expires_at,
                    },
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class EndSessionApi(generics.GenericAPIView):
    serializer_class = StaffBookingOutputSerializer
    queryset = Booking.objects.none()
    filter_backends = ()

    @extend_schema(
        operation_id="bookings_end_session",
        tags=["bookings"],
        request=None,
        responses={200: StaffBookingOutputSerializer, 409: CONFLICT},
        summary="Close a drive-in session; the fee is the facility's rule for the actual duration",
    )
    def post(self, request: Request, booking_id: str) -> Response:
        actor = _user(request)
        booking = Booking.objects.filter(pk=booking_id).first()
        member = (
            booking is not None
            and parking_selectors.facility_list_managed(actor=actor).filter(pk=booking.facility_id).exists()
        )
        if booking is None or not member:
            raise NotFoundError("Booking not found.")
        booking = sessions.session_end(booking_id=booking.pk, actor=actor)
        booking = Booking.objects.select_related("facility", "zone", "spot").get(pk=booking.pk)
        return Response(StaffBookingOutputSerializer(booking).data)
