"""Gate endpoints. Device endpoints (``Authorization: Gate <key>`` only) and the staff endpoints
(JWT, tenant-scoped; managers and owners change gates and keys, any member may issue commands)."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import MANAGER_ROLES
from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from gates import selectors, services
from gates.auth import GateDevice, GateKeyAuthentication, GateThrottle, IsGateDevice
from gates.models import Decision, EventKind, Gate, GateEvent
from gates.snapshot import snapshot_build
from parking import selectors as parking_selectors
from vehicles.plates import normalize_plate, plate_blind_index

from .serializers import (
    CommandInputSerializer,
    CommandOutputSerializer,
    DecisionInputSerializer,
    DecisionOutputSerializer,
    EventBatchInputSerializer,
    EventBatchOutputSerializer,
    GateEventOutputSerializer,
    GateInputSerializer,
    GateKeyOutputSerializer,
    GateOutputSerializer,
    PollInputSerializer,
    PollOutputSerializer,
    ReviewOutputSerializer,
    ReviewResolveInputSerializer,
    SnapshotOutputSerializer,
    SnapshotQuerySerializer,
)

ERROR = OpenApiResponse(ClientErrorResponseSerializer)


class _DeviceApi(generics.GenericAPIView):
    authentication_classes = (GateKeyAuthentication,)
    permission_classes = (IsGateDevice,)
    throttle_classes = (GateThrottle,)

    def gate(self) -> Gate:
        assert isinstance(self.request.user, GateDevice)
        return self.request.user.gate


def _credential(data: dict[str, Any]) -> services.Credential:
    return services.Credential(
        qr_code=data.get("qr_code") or "",
        license_plate=data.get("license_plate") or "",
        confidence=data.get("confidence"),
        booking_reference=data.get("booking_reference") or "",
        ticket=data.get("ticket") or "",
    )


DECISION_DOC = (
    "Idempotent by `event_id`: a repeat returns the recorded decision. Reason codes: open — `ok`, `re_entry`, "
    "`pass_valid`, `drive_in_started`, `fee_charged_to_saved_card`, `already_checked_out`; deny — "
    "`credential_not_accepted`, `wrong_direction`, `invalid_credential`, `unknown_credential`, `wrong_facility`, "
    "`too_early`, `outside_window`, `booking_cancelled`, `booking_expired`, `no_show`, `booking_completed`, "
    "`payment_required` (with `amount_due` and `payment`), `already_inside`, `not_inside`, `manual_review`, "
    "`facility_full`, `no_booking`."
)


class _DecisionApi(_DeviceApi):
    serializer_class = DecisionInputSerializer
    decide: Callable[..., GateEvent]

    def post(self, request: Request) -> Response:
        data = _validated(DecisionInputSerializer, request.data)
        event = type(self).decide(
            gate=self.gate(), event_id=data["event_id"], occurred_at=data["occurred_at"], credential=_credential(data)
        )
        return Response(DecisionOutputSerializer(event).data)


def _decision_schema(operation_id: str, summary: str) -> Any:
    return extend_schema(
        operation_id=operation_id,
        tags=["gates (devices)"],
        request=DecisionInputSerializer,
        responses={200: DecisionOutputSerializer, 400: ERROR},
        summary=summary,
        description=DECISION_DOC,
    )


class GateCheckInApi(_DecisionApi):
    decide = services.gate_check_in

    @_decision_schema("gates_check_in", "Entry decision")
    def post(self, request: Request) -> Response:
        return super().post(request)


class GateCheckOutApi(_DecisionApi):
    decide = services.gate_check_out

    @_decision_schema("gates_check_out", "Exit decision (completes the stay with the device time)")
    def post(self, request: Request) -> Response:
        return super().post(request)


class GatePollApi(_DeviceApi):
    serializer_class = PollOutputSerializer

    @extend_schema(
        operation_id="gates_poll",
        tags=["gates (devices)"],
        parameters=[PollInputSerializer],
        responses={200: PollOutputSerializer},
        summary="Heartbeat: configuration and pending commands (each delivered once)",
    )
    def get(self, request: Request) -> Response:
        query = _validated(PollInputSerializer, request.query_params)
        gate = self.gate()
        commands = services.gate_poll(gate=gate, software_version=query.get("software_version", ""))
        gate.refresh_from_db()
        return Response(
            PollOutputSerializer({"server_time": timezone.now(), "config": gate, "commands": commands}).data
        )


class GateCommandAckApi(_DeviceApi):
    serializer_class = CommandOutputSerializer

    @extend_schema(
        operation_id="gates_command_ack",
        tags=["gates (devices)"],
        request=None,
        responses={200: CommandOutputSerializer, 404: ERROR},
        summary="Acknowledge a command (idempotent)",
    )
    def post(self, request: Request, command_id: int) -> Response:
        command = services.gate_command_ack(gate=self.gate(), command_id=command_id)
        return Response(CommandOutputSerializer(command).data)


class GateSnapshotApi(_DeviceApi):
    serializer_class = SnapshotOutputSerializer

    @extend_schema(
        operation_id="gates_snapshot",
        tags=["gates (devices)"],
        parameters=[SnapshotQuerySerializer],
        responses={200: SnapshotOutputSerializer, 400: ERROR},
        summary="Signed snapshot for offline decisions (incremental with `since`)",
    )
    def get(self, request: Request) -> Response:
        query = _validated(SnapshotQuerySerializer, request.query_params)
        return Response(snapshot_build(gate=self.gate(), since=query.get("since")))


class GateEventBatchApi(_DeviceApi):
    serializer_class = EventBatchInputSerializer

    @extend_schema(
        operation_id="gates_events",
        tags=["gates (devices)"],
        request=EventBatchInputSerializer,
        responses={200: EventBatchOutputSerializer, 400: ERROR},
        summary="Upload decisions taken offline (applied in time order, once each)",
        description=(
            "Each event is applied once by `(gate, event_id)` (`duplicate` when seen before, also from a live "
            "call) in `occurred_at` order. An offline entry the platform would have refused (e.g. the booking "
            "was cancelled meanwhile) is kept and `flagged` for staff, never dropped."
        ),
    )
    def post(self, request: Request) -> Response:
        data = _validated(EventBatchInputSerializer, request.data)
        gate = self.gate()
        results = []
        for item in sorted(data["events"], key=lambda e: (e["occurred_at"], e["event_id"])):
            event, created = services.gate_event_apply_offline(
                gate=gate,
                event_id=item["event_id"],
                kind=item["kind"],
                occurred_at=item["occurred_at"],
                credential=_credential(item),
                decision=item["decision"],
                reason_code=item["reason_code"],
            )
            state = "duplicate" if not created else ("flagged" if event.flagged else "applied")
            results.append(
                {
                    "event_id": event.event_id,
                    "status": state,
                    "decision": event.decision,
                    "reason_code": event.reason_code,
                }
            )
        return Response(EventBatchOutputSerializer({"results": results}).data)


# ---------------------------------------------------------------------------- staff


class GateListCreateApi(generics.GenericAPIView):
    serializer_class = GateOutputSerializer

    @extend_schema(
        operation_id="gates_list",
        tags=["gates"],
        summary="Gates of my organizations: the status board (status, last seen, current outage)",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.gate_list_managed(actor=_user(request)).order_by("facility_id", "name"))
        return self.get_paginated_response(GateOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="gates_create",
        tags=["gates"],
        request=GateInputSerializer,
        responses={201: GateKeyOutputSerializer, 400: ERROR, 403: ERROR},
        summary="Register a gate (managers, owners); its key is in the answer, once",
    )
    def post(self, request: Request) -> Response:
        actor = _user(request)
        serializer = GateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        facility = parking_selectors.facility_get_managed(
            actor=actor, facility_id=serializer.validated_data["facility"].pk, roles=MANAGER_ROLES
        )
        gate, key = services.gate_create(facility=facility, data=serializer.validated_data, actor=actor)
        return Response(GateKeyOutputSerializer({"gate": gate, "key": key}).data, status=status.HTTP_201_CREATED)


class GateRotateKeyApi(generics.GenericAPIView):
    serializer_class = GateKeyOutputSerializer

    @extend_schema(
        operation_id="gates_rotate_key",
        tags=["gates"],
        request=None,
        responses={200: GateKeyOutputSerializer, 403: ERROR, 404: ERROR},
        summary="New key (shown once); the old one stops working at once",
    )
    def post(self, request: Request, gate_id: int) -> Response:
        actor = _user(request)
        gate = selectors.gate_get_managed(actor=actor, gate_id=gate_id)
        parking_selectors.facility_get_managed(actor=actor, facility_id=gate.facility_id, roles=MANAGER_ROLES)
        key = services.gate_key_rotate(gate=gate, actor=actor)
        return Response(GateKeyOutputSerializer({"gate": gate, "key": key}).data)


class GateRevokeKeysApi(generics.GenericAPIView):
    serializer_class = GateOutputSerializer

    @extend_schema(
        operation_id="gates_revoke_keys",
        tags=["gates"],
        request=None,
        responses={200: GateOutputSerializer, 403: ERROR, 404: ERROR},
        summary="Revoke every key of the gate",
    )
    def post(self, request: Request, gate_id: int) -> Response:
        actor = _user(request)
        gate = selectors.gate_get_managed(actor=actor, gate_id=gate_id)
        parking_selectors.facility_get_managed(actor=actor, facility_id=gate.facility_id, roles=MANAGER_ROLES)
        services.gate_key_revoke(gate=gate, actor=actor)
        return Response(GateOutputSerializer(gate).data)


class GateCommandCreateApi(generics.GenericAPIView):
    serializer_class = CommandInputSerializer

    @extend_schema(
        operation_id="gates_command",
        tags=["gates"],
        request=CommandInputSerializer,
        responses={201: CommandOutputSerializer, 400: ERROR, 404: ERROR},
        summary="Queue a command (a remote `open` needs a reason and is audited)",
    )
    def post(self, request: Request, gate_id: int) -> Response:
        actor = _user(request)
        gate = selectors.gate_get_managed(actor=actor, gate_id=gate_id)
        data = _validated(CommandInputSerializer, request.data)
        command = services.gate_command_issue(gate=gate, kind=data["kind"], actor=actor, reason=data["reason"])
        return Response(CommandOutputSerializer(command).data, status=status.HTTP_201_CREATED)


class GateEventFilter(filters.FilterSet):
    gate = filters.NumberFilter(field_name="gate_id")
    facility = filters.NumberFilter(field_name="facility_id")
    decision = filters.ChoiceFilter(choices=Decision.choices)
    reason = filters.CharFilter(field_name="reason_code")
    kind = filters.ChoiceFilter(choices=EventKind.choices)
    flagged = filters.BooleanFilter()
    occurred_from = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_to = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    plate = filters.CharFilter(method="filter_plate", label="Exact licence plate (any spelling; matched by index)")

    class Meta:
        model = GateEvent
        fields = ("gate", "facility", "decision", "reason", "kind", "flagged", "occurred_from", "occurred_to", "plate")

    @sensitive_variables()
    def filter_plate(self, queryset: QuerySet[GateEvent], name: str, value: str) -> QuerySet[GateEvent]:
        return queryset.filter(plate_index=plate_blind_index(normalize_plate(value)))


@extend_validation_errors(["invalid_plate"], field_name="plate", methods=["get"])
class GateEventLogApi(generics.GenericAPIView):
    queryset = GateEvent.objects.none()  # schema only; data comes from the selector
    serializer_class = GateEventOutputSerializer
    filter_backends = (filters.DjangoFilterBackend,)
    filterset_class = GateEventFilter

    @extend_schema(operation_id="gates_event_log", tags=["gates"], summary="Gate event log of my organizations")
    def get(self, request: Request) -> Response:
        events = self.filter_queryset(selectors.gate_event_list_managed(actor=_user(request)))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(GateEventOutputSerializer(page, many=True).data)


class ReviewListApi(generics.GenericAPIView):
    serializer_class = ReviewOutputSerializer

    @extend_schema(
        operation_id="gates_reviews",
        tags=["gates"],
        parameters=[OpenApiParameter("status", str, enum=["pending", "approved", "rejected"])],
        summary="Manual-review queue (low-confidence plates, offline entries to check)",
    )
    def get(self, request: Request) -> Response:
        reviews = selectors.review_list_managed(actor=_user(request))
        wanted = request.query_params.get("status")
        if wanted:
            reviews = reviews.filter(status=wanted)
        page = self.paginate_queryset(reviews)
        return self.get_paginated_response(ReviewOutputSerializer(page, many=True).data)


class _ReviewResolveApi(generics.GenericAPIView):
    serializer_class = ReviewResolveInputSerializer
    approve = False

    def post(self, request: Request, review_id: int) -> Response:
        actor = _user(request)
        review = selectors.review_get_managed(actor=actor, review_id=review_id)
        data = _validated(ReviewResolveInputSerializer, request.data)
        services.review_resolve(review_id=review.pk, actor=actor, approve=self.approve, note=data["note"])
        return Response(ReviewOutputSerializer(selectors.review_get_managed(actor=actor, review_id=review_id)).data)


RESOLVE_SCHEMA: dict[str, Any] = {
    "tags": ["gates"],
    "request": ReviewResolveInputSerializer,
    "responses": {200: ReviewOutputSerializer, 404: ERROR, 409: ERROR},
}


class ReviewApproveApi(_ReviewResolveApi):
    approve = True

    @extend_schema(operation_id="gates_review_approve", summary="Approve: open the gate (audited)", **RESOLVE_SCHEMA)
    def post(self, request: Request, review_id: int) -> Response:
        return super().post(request, review_id)


class ReviewRejectApi(_ReviewResolveApi):
    @extend_schema(operation_id="gates_review_reject", summary="Reject: the gate stays closed", **RESOLVE_SCHEMA)
    def post(self, request: Request, review_id: int) -> Response:
        return super().post(request, review_id)
