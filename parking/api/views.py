"""Inventory (tenant-scoped) and search (public) endpoints. Thin: validate, call a selector or a
service, serialize. Another organization's objects are 404; a role that is too low is 403."""

from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import ALL_ROLES, MANAGER_ROLES, organization_get
from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError, NotFoundError
from parking import pricing_hooks, selectors, services
from parking.availability import SpotRequirements
from parking.cache import cached_for_facility
from parking.models import Facility, Spot, SpotBlock, Zone
from parking.windows import window_validate

from .serializers import (
    BlockInputSerializer,
    BlockOutputSerializer,
    BlockWithOverlapsOutputSerializer,
    FacilityAvailabilityOutputSerializer,
    FacilityInputSerializer,
    FacilityManagedOutputSerializer,
    FacilityPublicOutputSerializer,
    FacilitySearchOutputSerializer,
    FacilitySearchQuerySerializer,
    SpotAvailableOutputSerializer,
    SpotAvailableQuerySerializer,
    SpotBulkCreateInputSerializer,
    SpotBulkStatusInputSerializer,
    SpotBulkStatusOutputSerializer,
    SpotDetailOutputSerializer,
    SpotInputSerializer,
    SpotOutputSerializer,
    WindowQuerySerializer,
    ZoneInputSerializer,
    ZoneOutputSerializer,
)

CONFLICT = OpenApiResponse(ClientErrorResponseSerializer, description="Has current or future bookings.")
# Fields staff may change on a spot; everything else on inventory needs an owner or manager.
STAFF_SPOT_FIELDS = frozenset({"status", "ev_charger_status"})


def _actor(request: Request) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _requirements(query: dict[str, Any]) -> SpotRequirements:
    return SpotRequirements(
        vehicle_type=query.get("vehicle_type"),
        is_ev=bool(query.get("is_ev")),
        needs_ev=bool(query.get("needs_ev")),
        needs_accessible=bool(query.get("needs_accessible")),
    )


# ---------------------------------------------------------------------------- facilities


@extend_schema_view(
    get=extend_schema(
        operation_id="facilities_list",
        tags=["facilities"],
        summary="Search published facilities (public), or list the ones you manage (?mine / ?organization)",
        parameters=[FacilitySearchQuerySerializer],
        responses={200: FacilitySearchOutputSerializer(many=True)},
    ),
    post=extend_schema(
        operation_id="facilities_create",
        tags=["facilities"],
        summary="Create a facility (owners and managers)",
        request=FacilityInputSerializer,
        responses={201: FacilityManagedOutputSerializer},
    ),
)
class FacilityListApi(generics.GenericAPIView):
    serializer_class = FacilitySearchOutputSerializer
    queryset = Facility.objects.none()  # the real querysets come from the selectors
    filter_backends = ()

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    def get(self, request: Request) -> Response:
        query = _validated(FacilitySearchQuerySerializer, request.query_params)
        actor = _actor(request)
        managed = query.get("mine") or query.get("organization")
        if managed:
            if actor is None:
                raise NotAuthenticated("Log in to list the facilities you manage.")
            if query.get("organization"):
                organization_get(actor=actor, organization_id=query["organization"])
            queryset = selectors.facility_list_managed(actor=actor, organization_id=query.get("organization"))
            page = self.paginate_queryset(queryset)
            return self.get_paginated_response(FacilityManagedOutputSerializer(page, many=True).data)

        params = selectors.SearchParams(
            lat=query.get("lat"),
            lng=query.get("lng"),
            radius_km=query.get("radius_km"),
            start=query.get("start"),
            end=query.get("end"),
            requirements=_requirements(query),
            has_ev_charging=query.get("has_ev_charging"),
            is_covered=query.get("is_covered"),
            is_accessible=query.get("is_accessible"),
            city=query.get("city"),
        )
        queryset = selectors.facility_search(params)
        ordering = query.get("ordering") or ("distance" if params.lat is not None else "name")
        if ordering == "price":
            page = self.paginate_queryset(_ordered_by_price(queryset, params))
        else:
            order_by = {
                "distance": ("distance_km", "pk"),
                "rating": (F("rating_average").desc(nulls_last=True), "-rating_count", "name", "pk"),
                "name": ("name", "pk"),
                "-name": ("-name", "-pk"),
            }[ordering]
            page = self.paginate_queryset(queryset.order_by(*order_by))
        facilities: list[Facility] = list(page or [])
        if params.start is not None and params.end is not None:
            prices = pricing_hooks.price_facilities(
                facilities, params.start, params.end, params.requirements.vehicle_type
            )
            for facility in facilities:
                facility.price = prices.get(facility.pk)  # type: ignore[attr-defined]
                # Operating hours are JSON evaluated in the facility's zone: a closed facility has no spots.
                if not selectors.facility_open_for(facility, params.start, params.end):
                    facility.available_spots = 0  # type: ignore[attr-defined]
        return self.get_paginated_response(FacilitySearchOutputSerializer(facilities, many=True).data)

    def post(self, request: Request) -> Response:
        actor = _user(request)
        data = _validated(FacilityInputSerializer, request.data)
        organization = organization_get(actor=actor, organization_id=data.pop("organization"), roles=MANAGER_ROLES)
        facility = services.facility_create(organization=organization, data=data)
        return Response(FacilityManagedOutputSerializer(facility).data, status=status.HTTP_201_CREATED)


MAX_PRICE_ORDERED = 500


def _ordered_by_price(queryset: QuerySet[Facility], params: selectors.SearchParams) -> list[Facility]:
    """All matches ordered cheapest first (unpriced last, then by distance/name). Prices come from the
    pricing app for every candidate, so the candidate set is bounded: narrow the search otherwise."""
    assert params.start is not None
    assert params.end is not None
    candidates = list(queryset.order_by("pk")[: MAX_PRICE_ORDERED + 1])
    if len(candidates) > MAX_PRICE_ORDERED:
        raise ApplicationError(
            f"More than {MAX_PRICE_ORDERED} facilities match; narrow the search (radius, city) to order by price.",
            code="too_many_results",
            attr="ordering",
        )
    prices = pricing_hooks.price_facilities(candidates, params.start, params.end, params.requirements.vehicle_type)

    def key(facility: Facility) -> tuple[int, int, float, str, int]:
        total = prices[facility.pk].total if facility.pk in prices else None
        return (
            total is None,
            total or 0,
            getattr(facility, "distance_km", 0.0),
            facility.name,
            facility.pk,
        )

    return sorted(candidates, key=key)


class FacilityDetailApi(generics.GenericAPIView):
    serializer_class = FacilityPublicOutputSerializer

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(
        operation_id="facilities_retrieve",
        tags=["facilities"],
        summary="Facility detail (public if published; members see internal fields)",
        responses={200: FacilityManagedOutputSerializer},
    )
    def get(self, request: Request, facility_id: int) -> Response:
        facility, managed = selectors.facility_get_visible(actor=_actor(request), facility_id=facility_id)
        if managed:
            return Response(FacilityManagedOutputSerializer(facility).data)
        data = cached_for_facility(
            facility.pk, "public-detail", lambda: dict(FacilityPublicOutputSerializer(facility).data)
        )
        return Response(data)

    @extend_schema(
        operation_id="facilities_update",
        tags=["facilities"],
        request=FacilityInputSerializer(partial=True),
        responses={200: FacilityManagedOutputSerializer},
        summary="Update a facility and its policies (owners and managers)",
    )
    def patch(self, request: Request, facility_id: int) -> Response:
        facility = selectors.facility_get_managed(actor=_user(request), facility_id=facility_id, roles=MANAGER_ROLES)
        data = _validated(FacilityInputSerializer, request.data, partial=True)
        data.pop("organization", None)
        facility = services.facility_update(facility=facility, data=data)
        return Response(FacilityManagedOutputSerializer(facility).data)

    @extend_schema(
        operation_id="facilities_destroy",
        tags=["facilities"],
        responses={204: None, 409: CONFLICT},
        summary="Delete a facility with its zones and spots (refused while it has future bookings)",
    )
    def delete(self, request: Request, facility_id: int) -> Response:
        facility = selectors.facility_get_managed(actor=_user(request), facility_id=facility_id, roles=MANAGER_ROLES)
        services.facility_delete(facility=facility)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FacilityAvailabilityApi(generics.GenericAPIView):
    permission_classes = (AllowAny,)
    serializer_class = FacilityAvailabilityOutputSerializer

    @extend_schema(
        operation_id="facilities_availability",
        tags=["facilities"],
        parameters=[WindowQuerySerializer],
        responses={200: FacilityAvailabilityOutputSerializer},
        summary="Free spots for a window, per zone and per category",
    )
    def get(self, request: Request, facility_id: int) -> Response:
        facility, _ = selectors.facility_get_visible(actor=_actor(request), facility_id=facility_id)
        query = _validated(WindowQuerySerializer, request.query_params)
        start: datetime = query["start"]
        end: datetime = query["end"]
        window_validate(facility=facility, start=start, end=end)
        summary = selectors.facility_availability(
            facility=facility, start=start, end=end, requirements=_requirements(query)
        )
        return Response(
            FacilityAvailabilityOutputSerializer(
                {
                    "facility": facility.pk,
                    "start": start,
                    "end": end,
                    "is_open": True,
                    "total_available": summary.total_available,
                    "by_zone": summary.by_zone,
                    "by_category": summary.by_category,
                }
            ).data
        )


# ---------------------------------------------------------------------------- zones


class ZoneFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")

    class Meta:
        model = Zone
        fields = ("facility",)


class ZoneListApi(generics.GenericAPIView):
    serializer_class = ZoneOutputSerializer
    filterset_class = ZoneFilter
    ordering_fields = ("display_order", "level", "name")

    def get_queryset(self) -> QuerySet[Zone]:
        return selectors.zone_list_managed(actor=_user(self.request))

    @extend_schema(operation_id="zones_list", tags=["zones"], summary="Zones of the facilities you manage")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ZoneOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="zones_create",
        tags=["zones"],
        request=ZoneInputSerializer,
        responses={201: ZoneOutputSerializer},
        summary="Create a zone (owners and managers)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(ZoneInputSerializer, request.data)
        facility = _managed_facility_for_input(request, data.pop("facility"), roles=MANAGER_ROLES)
        zone = services.zone_create(facility=facility, data=data)
        zone.spot_count = 0  # type: ignore[attr-defined]
        return Response(ZoneOutputSerializer(zone).data, status=status.HTTP_201_CREATED)


def _managed_facility_for_input(request: Request, facility_id: int, *, roles: frozenset[str]) -> Facility:
    """A facility named in a request body: another organization's is a 400 on the field, not a 404."""
    try:
        return selectors.facility_get_managed(actor=_user(request), facility_id=facility_id, roles=roles)
    except NotFoundError as exc:
        raise ApplicationError(
            "No such facility among those you manage.", code="does_not_exist", attr="facility"
        ) from exc


def _managed_zone_for_input(request: Request, zone_id: int, *, roles: frozenset[str]) -> Zone:
    try:
        zone = selectors.zone_get_managed(actor=_user(request), zone_id=zone_id)
    except NotFoundError as exc:
        raise ApplicationError("No such zone among those you manage.", code="does_not_exist", attr="zone") from exc
    selectors.facility_get_managed(actor=_user(request), facility_id=zone.facility_id, roles=roles)
    return zone


class ZoneDetailApi(generics.GenericAPIView):
    serializer_class = ZoneOutputSerializer

    def _zone(self, zone_id: int, *, roles: frozenset[str] | None = None) -> Zone:
        zone = selectors.zone_list_managed(actor=_user(self.request)).filter(pk=zone_id).first()
        if zone is None:
            raise NotFoundError("Zone not found.")
        if roles is not None:
            selectors.facility_get_managed(actor=_user(self.request), facility_id=zone.facility_id, roles=roles)
        return zone

    @extend_schema(operation_id="zones_retrieve", tags=["zones"])
    def get(self, request: Request, zone_id: int) -> Response:
        return Response(ZoneOutputSerializer(self._zone(zone_id)).data)

    @extend_schema(
        operation_id="zones_update",
        tags=["zones"],
        request=ZoneInputSerializer(partial=True),
        responses={200: ZoneOutputSerializer},
    )
    def patch(self, request: Request, zone_id: int) -> Response:
        zone = self._zone(zone_id, roles=MANAGER_ROLES)
        data = _validated(ZoneInputSerializer, request.data, partial=True)
        data.pop("facility", None)
        zone = services.zone_update(zone=zone, data=data)
        return Response(ZoneOutputSerializer(zone).data)

    @extend_schema(operation_id="zones_destroy", tags=["zones"], responses={204: None, 409: CONFLICT})
    def delete(self, request: Request, zone_id: int) -> Response:
        services.zone_delete(zone=self._zone(zone_id, roles=MANAGER_ROLES))
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------- spots


class SpotFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")
    zone = filters.NumberFilter(field_name="zone_id")

    class Meta:
        model = Spot
        fields = ("facility", "zone", "status", "category", "size")


class SpotListApi(generics.GenericAPIView):
    serializer_class = SpotOutputSerializer
    filterset_class = SpotFilter
    ordering_fields = ("code", "status", "size", "category")

    def get_queryset(self) -> QuerySet[Spot]:
        return selectors.spot_list_managed(actor=_user(self.request))

    @extend_schema(operation_id="spots_list", tags=["spots"], summary="Spots of the facilities you manage")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SpotOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="spots_create",
        tags=["spots"],
        request=SpotInputSerializer,
        responses={201: SpotOutputSerializer},
        summary="Create a spot (owners and managers)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(SpotInputSerializer, request.data)
        zone = _managed_zone_for_input(request, data.pop("zone"), roles=MANAGER_ROLES)
        spot = services.spot_create(zone=zone, data=data)
        return Response(SpotOutputSerializer(spot).data, status=status.HTTP_201_CREATED)


class SpotBulkCreateApi(generics.GenericAPIView):
    serializer_class = SpotBulkCreateInputSerializer
    queryset = Spot.objects.none()  # the real querysets come from the selectors
    filter_backends = ()

    @extend_schema(
        operation_id="spots_bulk_create",
        tags=["spots"],
        request=SpotBulkCreateInputSerializer,
        responses={201: SpotOutputSerializer(many=True)},
        summary="Create numbered spots in one transaction (all or nothing, at most 500)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(SpotBulkCreateInputSerializer, request.data)
        zone = _managed_zone_for_input(request, data.pop("zone"), roles=MANAGER_ROLES)
        spots = services.spot_bulk_create(
            zone=zone,
            prefix=data.pop("prefix"),
            first_number=data.pop("first_number"),
            last_number=data.pop("last_number"),
            width=data.pop("width", 0),
            data=data,
        )
        return Response(SpotOutputSerializer(spots, many=True).data, status=status.HTTP_201_CREATED)


class SpotBulkStatusApi(generics.GenericAPIView):
    serializer_class = SpotBulkStatusInputSerializer

    @extend_schema(
        operation_id="spots_bulk_status",
        tags=["spots"],
        request=SpotBulkStatusInputSerializer,
        responses={200: SpotBulkStatusOutputSerializer},
        summary="Set the status of several spots (e.g. maintenance on/off); staff may do this",
    )
    def post(self, request: Request) -> Response:
        data = _validated(SpotBulkStatusInputSerializer, request.data)
        wanted = set(data["spot_ids"])
        spots = list(selectors.spot_list_managed(actor=_user(request)).filter(pk__in=wanted))
        missing = wanted - {spot.pk for spot in spots}
        if missing:
            raise ApplicationError(
                f"Unknown spot ids: {', '.join(map(str, sorted(missing)[:20]))}.",
                code="does_not_exist",
                attr="spot_ids",
            )
        changed = services.spot_bulk_set_status(spots=spots, status=data["status"])
        refreshed = selectors.spot_list_managed(actor=_user(request)).filter(pk__in=wanted)
        return Response(SpotBulkStatusOutputSerializer({"changed": changed, "spots": refreshed}).data)


class SpotDetailApi(generics.GenericAPIView):
    serializer_class = SpotDetailOutputSerializer

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    def _managed(self, spot_id: int) -> Spot:
        spot = selectors.spot_get_managed(actor=_user(self.request), spot_id=spot_id)
        if spot is None:
            raise NotFoundError("Spot not found.")
        return spot

    @extend_schema(
        operation_id="spots_retrieve",
        tags=["spots"],
        summary="Spot detail with its status right now (public for published facilities)",
    )
    def get(self, request: Request, spot_id: int) -> Response:
        spot = selectors.spot_get_visible(actor=_actor(request), spot_id=spot_id)
        spot.current_status = selectors.spot_current_status(spot=spot)  # type: ignore[attr-defined]
        return Response(SpotDetailOutputSerializer(spot).data)

    @extend_schema(
        operation_id="spots_update",
        tags=["spots"],
        request=SpotInputSerializer(partial=True),
        responses={200: SpotOutputSerializer},
        summary="Update a spot (staff: status and charger status only)",
    )
    def patch(self, request: Request, spot_id: int) -> Response:
        spot = self._managed(spot_id)
        data = _validated(SpotInputSerializer, request.data, partial=True)
        if set(data) - STAFF_SPOT_FIELDS:
            selectors.facility_get_managed(actor=_user(request), facility_id=spot.facility_id, roles=MANAGER_ROLES)
        if "zone" in data:
            data["zone"] = _managed_zone_for_input(request, data["zone"], roles=MANAGER_ROLES)
        spot = services.spot_update(spot=spot, data=data)
        return Response(SpotOutputSerializer(spot).data)

    @extend_schema(operation_id="spots_destroy", tags=["spots"], responses={204: None, 409: CONFLICT})
    def delete(self, request: Request, spot_id: int) -> Response:
        spot = self._managed(spot_id)
        selectors.facility_get_managed(actor=_user(request), facility_id=spot.facility_id, roles=MANAGER_ROLES)
        services.spot_delete(spot=spot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SpotAvailableApi(generics.GenericAPIView):
    permission_classes = (AllowAny,)
    serializer_class = SpotOutputSerializer
    queryset = Spot.objects.none()  # the real querysets come from the selectors
    filter_backends = ()

    @extend_schema(
        operation_id="spots_available",
        tags=["spots"],
        parameters=[SpotAvailableQuerySerializer],
        responses={200: SpotAvailableOutputSerializer(many=True)},
        summary="Spots of a facility free for the whole window, each with its price",
    )
    def get(self, request: Request) -> Response:
        query = _validated(SpotAvailableQuerySerializer, request.query_params)
        facility, _ = selectors.facility_get_visible(actor=_actor(request), facility_id=query["facility"])
        window_validate(facility=facility, start=query["start"], end=query["end"])
        queryset = selectors.spots_available(
            start=query["start"],
            end=query["end"],
            requirements=_requirements(query),
            facility=facility,
            zone_id=query.get("zone"),
        )
        spots: list[Spot] = list(self.paginate_queryset(queryset) or [])
        prices = pricing_hooks.price_spots(spots, query["start"], query["end"], query.get("vehicle_type"))
        for spot in spots:
            spot.price = prices.get(spot.pk)  # type: ignore[attr-defined]
        return self.get_paginated_response(SpotAvailableOutputSerializer(spots, many=True).data)


# ---------------------------------------------------------------------------- blocks


class BlockFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")
    zone = filters.NumberFilter(field_name="zone_id")
    spot = filters.NumberFilter(field_name="spot_id")
    active_at = filters.IsoDateTimeFilter(method="filter_active_at", label="Blocks covering this instant")

    class Meta:
        model = SpotBlock
        fields = ("facility", "zone", "spot", "reason")

    def filter_active_at(self, queryset: QuerySet[SpotBlock], name: str, value: datetime) -> QuerySet[SpotBlock]:
        return queryset.filter(start__lte=value, end__gt=value)


class BlockListApi(generics.GenericAPIView):
    serializer_class = BlockOutputSerializer
    filterset_class = BlockFilter
    ordering_fields = ("start", "end")

    def get_queryset(self) -> QuerySet[SpotBlock]:
        return selectors.block_list_managed(actor=_user(self.request))

    @extend_schema(operation_id="spot_blocks_list", tags=["spot-blocks"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BlockOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="spot_blocks_create",
        tags=["spot-blocks"],
        request=BlockInputSerializer,
        responses={201: BlockWithOverlapsOutputSerializer},
        summary="Block a spot, a zone or a whole facility for a window (staff may do this)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(BlockInputSerializer, request.data)
        facility = _managed_facility_for_input(request, data.pop("facility"), roles=ALL_ROLES)
        zone = _managed_zone_for_input(request, data["zone"], roles=ALL_ROLES) if data.get("zone") else None
        spot = None
        if data.get("spot"):
            spot = selectors.spot_get_managed(actor=_user(request), spot_id=data["spot"])
            if spot is None:
                raise ApplicationError("No such spot among those you manage.", code="does_not_exist", attr="spot")
        block = services.block_create(
            actor=_user(request),
            facility=facility,
            zone=zone,
            spot=spot,
            start=data["start"],
            end=data["end"],
            reason=data["reason"],
            note=data.get("note", ""),
        )
        block.overlapping_bookings = selectors.block_overlapping_bookings(block=block)  # type: ignore[attr-defined]
        return Response(BlockWithOverlapsOutputSerializer(block).data, status=status.HTTP_201_CREATED)


class BlockDetailApi(generics.GenericAPIView):
    serializer_class = BlockWithOverlapsOutputSerializer

    @extend_schema(operation_id="spot_blocks_retrieve", tags=["spot-blocks"])
    def get(self, request: Request, block_id: int) -> Response:
        block = selectors.block_get_managed(actor=_user(request), block_id=block_id)
        block.overlapping_bookings = selectors.block_overlapping_bookings(block=block)  # type: ignore[attr-defined]
        return Response(BlockWithOverlapsOutputSerializer(block).data)

    @extend_schema(
        operation_id="spot_blocks_update",
        tags=["spot-blocks"],
        request=BlockInputSerializer(partial=True),
        responses={200: BlockWithOverlapsOutputSerializer},
    )
    def patch(self, request: Request, block_id: int) -> Response:
        block = selectors.block_get_managed(actor=_user(request), block_id=block_id)
        data = _validated(BlockInputSerializer, request.data, partial=True)
        block = services.block_update(block=block, data=data)
        block.overlapping_bookings = selectors.block_overlapping_bookings(block=block)  # type: ignore[attr-defined]
        return Response(BlockWithOverlapsOutputSerializer(block).data)

    @extend_schema(operation_id="spot_blocks_destroy", tags=["spot-blocks"], responses={204: None})
    def delete(self, request: Request, block_id: int) -> Response:
        services.block_delete(block=selectors.block_get_managed(actor=_user(request), block_id=block_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
