from typing import Any

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError
from enforcement import services
from parking import selectors as parking_selectors
from vehicles.exceptions import InvalidPlateError

from .serializers import CheckInputSerializer, CheckOutputSerializer


@extend_validation_errors(["invalid_plate"], field_name="license_plate", methods=["post"])
class EnforcementCheckApi(generics.GenericAPIView):
    serializer_class = CheckInputSerializer

    @extend_schema(
        operation_id="enforcement_check",
        tags=["enforcement"],
        request=CheckInputSerializer,
        responses={200: CheckOutputSerializer, 404: OpenApiResponse(ClientErrorResponseSerializer)},
        summary="May this plate be parked here now? (members of the facility's organization; logged)",
        description=(
            "`outcome`: `drive_in` (an open session), `booking` (a booking's window holds now; `valid_until` = "
            "its end + the overstay grace), `pass`, `grace` (a booking ended less than the grace ago), or "
            "`nothing`. Every check writes an immutable log row."
        ),
    )
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        actor = request.user
        assert isinstance(actor, User)
        serializer = CheckInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        facility = parking_selectors.facility_get_managed(actor=actor, facility_id=data["facility"])
        try:
            result = services.enforcement_check(actor=actor, facility=facility, plate=data["license_plate"])
        except InvalidPlateError as exc:  # named after this endpoint's field; the value is never repeated
            raise ApplicationError(exc.message, code=exc.code, attr="license_plate") from None
        return Response(CheckOutputSerializer(result).data)
