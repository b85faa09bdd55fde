from typing import Any

from django.db.models import QuerySet
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError
from enforcement import selectors, services, violations
from enforcement.models import Dispute, Violation
from idempotency.decorators import IDEMPOTENCY_ERROR_RESPONSES, idempotent
from parking import selectors as parking_selectors
from payments.api.serializers import PaymentCreateOutputSerializer, PaymentPayInputSerializer
from payments.api.views import PROVIDER_ERRORS
from vehicles.exceptions import InvalidPlateError

from .filters import DisputeFilter, DriverViolationFilter, ViolationFilter
from .serializers import (
    CheckInputSerializer,
    CheckOutputSerializer,
    DisputeInputSerializer,
    DisputeOutputSerializer,
    DisputeResolveInputSerializer,
    EvidenceInputSerializer,
    EvidenceOutputSerializer,
    ReasonInputSerializer,
    ViolationIssueInputSerializer,
    ViolationOutputSerializer,
)

ERROR = OpenApiResponse(ClientErrorResponseSerializer)
NOT_FOUND = OpenApiResponse(ClientErrorResponseSerializer, description="Not yours (or your organizations').")
CONFLICT = OpenApiResponse(
    ClientErrorResponseSerializer,
    description="`invalid_transition` (the violation's status does not allow it; resolved violations are "
    "read-only), `reopen_window_passed`, `violation_changed`.",
)
UPLOAD_PARSERS = (MultiPartParser, FormParser, JSONParser)


def _plate_error(exc: InvalidPlateError) -> ApplicationError:
    # Named after this endpoint's field; the value is never repeated.
    return ApplicationError(exc.message, code=exc.code, attr="license_plate")


@extend_validation_errors(["invalid_plate"], field_name="license_plate", methods=["post"])
class EnforcementCheckApi(generics.GenericAPIView):
    serializer_class = CheckInputSerializer

    @extend_schema(
        operation_id="enforcement_check",
        tags=["enforcement"],
        request=CheckInputSerializer,
        responses={200: CheckOutputSerializer, 404: NOT_FOUND},
        summary="May this plate be parked here now? (members of the facility's organization; logged)",
        description=(
            "`outcome`: `drive_in` (an open session), `booking` (a booking's window holds now; `valid_until` = "
            "its end + the overstay grace), `pass`, `grace` (a booking ended less than the grace ago), or "
            "`nothing`. Every check writes an immutable log row; its `check_id` can be used to issue a violation."
        ),
    )
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        actor = _user(request)
        data = _validated(CheckInputSerializer, request.data)
        facility = parking_selectors.facility_get_managed(actor=actor, facility_id=data["facility"])
        try:
            result = services.enforcement_check(actor=actor, facility=facility, plate=data["license_plate"])
        except InvalidPlateError as exc:
            raise _plate_error(exc) from None
        return Response(CheckOutputSerializer(result).data)


# ---------------------------------------------------------------------------- staff


@extend_validation_errors(["invalid_plate"], field_name="license_plate", methods=["post"])
@extend_validation_errors(["invalid_plate"], field_name="plate", methods=["get"])
class ViolationListIssueApi(generics.GenericAPIView):
    serializer_class = ViolationOutputSerializer
    filterset_class = ViolationFilter
    ordering_fields = ("issued_at", "due_date", "fine_amount")

    def get_queryset(self) -> QuerySet[Violation]:
        return selectors.violation_list_for_staff(actor=_user(self.request))

    @extend_schema(
        operation_id="enforcement_violations_list",
        tags=["enforcement"],
        summary="Violations of my organizations (owners, managers, staff)",
        description="Filters: facility, status, kind, escalated, issued_from/issued_to, plate (exact, any spelling).",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ViolationOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="enforcement_violations_issue",
        tags=["enforcement"],
        request=ViolationIssueInputSerializer,
        responses={201: ViolationOutputSerializer, 400: ERROR, 404: NOT_FOUND},
        summary="Issue a violation (from an enforcement check or by plate)",
        description=(
            "The fine is `fine_amount` or the facility's penalty policy fine for `kind` (400 "
            "`fine_not_configured` on `fine_amount` when neither). When the driver is known (the booking's, or the "
            "one driver who registered the plate) a payment request for the fine is made — charged to their "
            "saved Stripe card when they have one — and they are emailed (status `notified`)."
        ),
    )
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        actor = _user(request)
        data = _validated(ViolationIssueInputSerializer, request.data)
        facility = parking_selectors.facility_get_managed(actor=actor, facility_id=data["facility"])
        check = (
            selectors.check_for_facility(facility_id=facility.pk, check_id=data["check"]) if "check" in data else None
        )
        booking = (
            selectors.booking_for_facility(facility_id=facility.pk, reference=data["booking"])
            if data.get("booking")
            else None
        )
        spot = selectors.spot_for_facility(facility_id=facility.pk, spot_id=data["spot"]) if "spot" in data else None
        try:
            violation = violations.violation_issue(
                actor=actor,
                facility=facility,
                kind=data["kind"],
                plate=data.get("license_plate") or None,
                check=check,
                booking=booking,
                spot=spot,
                fine_amount=data.get("fine_amount"),
                notes=data["notes"],
            )
        except InvalidPlateError as exc:
            raise _plate_error(exc) from None
        violation = selectors.violation_get_for_staff(actor=actor, violation_id=violation.pk)
        return Response(ViolationOutputSerializer(violation).data, status=status.HTTP_201_CREATED)


class ViolationStaffDetailApi(generics.GenericAPIView):
    serializer_class = ViolationOutputSerializer

    @extend_schema(
        operation_id="enforcement_violations_retrieve",
        tags=["enforcement"],
        responses={200: ViolationOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, violation_id: int) -> Response:
        violation = selectors.violation_get_for_staff(actor=_user(request), violation_id=violation_id)
        return Response(ViolationOutputSerializer(violation).data)


class _ViolationReasonAction(generics.GenericAPIView):
    """A staff action with a reason on one violation; answers the violation after the change."""

    serializer_class = ReasonInputSerializer
    service: Any = None

    def post(self, request: Request, violation_id: int) -> Response:
        actor = _user(request)
        violation = selectors.violation_get_for_staff(actor=actor, violation_id=violation_id)
        data = _validated(ReasonInputSerializer, request.data)
        type(self).service(violation=violation, actor=actor, reason=data["reason"])
        violation = selectors.violation_get_for_staff(actor=actor, violation_id=violation_id)
        return Response(ViolationOutputSerializer(violation).data)


def _reason_schema(operation_id: str, summary: str, *, forbidden: bool = False) -> Any:
    responses: dict[int, Any] = {200: ViolationOutputSerializer, 400: ERROR, 404: NOT_FOUND, 409: CONFLICT}
    if forbidden:
        responses[403] = OpenApiResponse(ClientErrorResponseSerializer, description="Owners and managers only.")
    return extend_schema(
        operation_id=operation_id,
        tags=["enforcement"],
        request=ReasonInputSerializer,
        responses=responses,
        summary=summary,
    )


class ViolationWaiveApi(_ViolationReasonAction):
    service = violations.violation_waive

    @_reason_schema("enforcement_violations_waive", "Waive: nothing is owed (request cancelled or refunded; audited)")
    def post(self, request: Request, violation_id: int) -> Response:
        return super().post(request, violation_id)


class ViolationEscalateApi(_ViolationReasonAction):
    service = violations.violation_escalate

    @_reason_schema("enforcement_violations_escalate", "Escalate an open violation for follow-up (audited)")
    def post(self, request: Request, violation_id: int) -> Response:
        return super().post(request, violation_id)


class ViolationReopenApi(_ViolationReasonAction):
    service = violations.violation_reopen

    @_reason_schema(
        "enforcement_violations_reopen",
        "Reopen a waived or cancelled violation within VIOLATION_REOPEN_DAYS (owners/managers; audited)",
        forbidden=True,
    )
    def post(self, request: Request, violation_id: int) -> Response:
        return super().post(request, violation_id)


class ViolationEvidenceApi(generics.GenericAPIView):
    serializer_class = EvidenceInputSerializer
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        operation_id="enforcement_violations_add_evidence",
        tags=["enforcement"],
        request={"multipart/form-data": EvidenceInputSerializer, "application/json": EvidenceInputSerializer},
        responses={201: EvidenceOutputSerializer, 400: ERROR, 404: NOT_FOUND, 409: CONFLICT},
        summary="Add a note, a photo or a gate event link to an open violation",
    )
    def post(self, request: Request, violation_id: int) -> Response:
        actor = _user(request)
        violation = selectors.violation_get_for_staff(actor=actor, violation_id=violation_id)
        data = _validated(EvidenceInputSerializer, request.data)
        evidence = violations.violation_add_evidence(
            violation=violation,
            actor=actor,
            note=data["note"],
            photo=data.get("photo"),
            gate_event_id=data.get("gate_event"),
        )
        return Response(EvidenceOutputSerializer(evidence, context={"request": request}).data, status=201)


class DisputeListApi(generics.GenericAPIView):
    serializer_class = DisputeOutputSerializer
    filterset_class = DisputeFilter

    def get_queryset(self) -> QuerySet[Dispute]:
        return selectors.dispute_list_for_staff(actor=_user(self.request)).order_by("created_at", "id")

    @extend_schema(
        operation_id="enforcement_disputes_list",
        tags=["enforcement"],
        summary="The disputes queue of my organizations (oldest first; `status=open` for the queue)",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DisputeOutputSerializer(page, many=True).data)


class DisputeResolveApi(generics.GenericAPIView):
    serializer_class = DisputeResolveInputSerializer

    @extend_schema(
        operation_id="enforcement_disputes_resolve",
        tags=["enforcement"],
        request=DisputeResolveInputSerializer,
        responses={200: DisputeOutputSerializer, 400: ERROR, 404: NOT_FOUND, 409: CONFLICT},
        summary="Decide a dispute: `uphold` (the fine stands) or `cancel` (nothing owed); the driver is emailed",
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        actor = _user(request)
        dispute = selectors.dispute_get_for_staff(actor=actor, dispute_id=dispute_id)
        data = _validated(DisputeResolveInputSerializer, request.data)
        dispute = violations.dispute_resolve(
            dispute=dispute, actor=actor, uphold=data["decision"] == "uphold", note=data["note"]
        )
        return Response(DisputeOutputSerializer(dispute).data)


# ---------------------------------------------------------------------------- drivers


class DriverViolationListApi(generics.GenericAPIView):
    serializer_class = ViolationOutputSerializer
    filterset_class = DriverViolationFilter

    def get_queryset(self) -> QuerySet[Violation]:
        return selectors.violation_list_for_driver(driver=_user(self.request))

    @extend_schema(
        operation_id="violations_list",
        tags=["violations"],
        summary="My violations (issued to me, on my bookings, or on a plate of one of my vehicles)",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ViolationOutputSerializer(page, many=True).data)


class DriverViolationDetailApi(generics.GenericAPIView):
    serializer_class = ViolationOutputSerializer

    @extend_schema(
        operation_id="violations_retrieve",
        tags=["violations"],
        responses={200: ViolationOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, violation_id: int) -> Response:
        violation = selectors.violation_get_for_driver(driver=_user(request), violation_id=violation_id)
        return Response(ViolationOutputSerializer(violation).data)


class DriverViolationPayApi(generics.GenericAPIView):
    serializer_class = PaymentPayInputSerializer

    @extend_schema(
        operation_id="violations_pay",
        tags=["violations"],
        request=PaymentPayInputSerializer,
        responses={
            201: PaymentCreateOutputSerializer,
            400: ERROR,
            404: NOT_FOUND,
            409: CONFLICT,
            **IDEMPOTENCY_ERROR_RESPONSES,
            **PROVIDER_ERRORS,
        },
        summary="Pay the fine (the violation becomes `paid` when the payment succeeds)",
    )
    @idempotent
    def post(self, request: Request, violation_id: int) -> Response:
        driver = _user(request)
        violation = selectors.violation_get_for_driver(driver=driver, violation_id=violation_id)
        data = _validated(PaymentPayInputSerializer, request.data)
        payment, client = violations.violation_pay(violation=violation, driver=driver, provider_name=data["provider"])
        return Response(
            PaymentCreateOutputSerializer({"payment": payment, "client": client}).data, status=status.HTTP_201_CREATED
        )


class DriverViolationDisputeApi(generics.GenericAPIView):
    serializer_class = DisputeInputSerializer
    parser_classes = UPLOAD_PARSERS

    @extend_schema(
        operation_id="violations_dispute",
        tags=["violations"],
        request={"application/json": DisputeInputSerializer, "multipart/form-data": DisputeInputSerializer},
        responses={201: DisputeOutputSerializer, 400: ERROR, 404: NOT_FOUND, 409: CONFLICT},
        summary="Dispute a violation (once; staff decide and you are emailed the decision)",
    )
    def post(self, request: Request, violation_id: int) -> Response:
        driver = _user(request)
        violation = selectors.violation_get_for_driver(driver=driver, violation_id=violation_id)
        data = _validated(DisputeInputSerializer, request.data)
        dispute = violations.dispute_open(
            violation=violation,
            driver=driver,
            reason=data["reason"],
            evidence=data["evidence"],
            evidence_file=data.get("evidence_file"),
        )
        return Response(DisputeOutputSerializer(dispute).data, status=status.HTTP_201_CREATED)
