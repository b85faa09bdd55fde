"""Reads. Management reads are scoped by the actor's memberships (another organization's rows are
404); public reads see published facilities only and never anything about drivers."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.selectors import ALL_ROLES, organization_ids_for
from app.exceptions import NotFoundError, PermissionDeniedError

from . import availability, geo
from .availability import SpotRequirements
from .hours import window_within_hours
from .models import Facility, Spot, SpotBlock, SpotStatus, Zone

# ---------------------------------------------------------------------------- management, tenant-scoped


def facility_list_managed(*, actor: User, organization_id: uuid.UUID | None = None) -> QuerySet[Facility]:
    """Facilities of the actor's organizations (published or not)."""
    queryset = Facility.objects.filter(organization_id__in=organization_ids_for(actor=actor))
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    return queryset.order_by("name", "pk")


def facility_get_managed(*, actor: User, facility_id: int, roles: frozenset[str] = ALL_ROLES) -> Facility:
    """A facility of one of the actor's organizations; 404 otherwise, 403 if the role is too low."""
    facility = Facility.objects.filter(pk=facility_id, organization_id__in=organization_ids_for(actor=actor)).first()
    if facility is None:
        raise NotFoundError("Facility not found.")
    if (
        roles != ALL_ROLES
        and not organization_ids_for(actor=actor, roles=roles).filter(organization_id=facility.organization_id).exists()
    ):
        raise PermissionDeniedError("Your role in this organization does not allow this action.")
    return facility


def zone_list_managed(*, actor: User) -> QuerySet[Zone]:
    return (
        Zone.objects.filter(organization_id__in=organization_ids_for(actor=actor))
        .select_related("facility")
        .annotate(spot_count=Count("spots"))
        .order_by("facility_id", "display_order", "level", "name", "pk")
    )


def zone_get_managed(*, actor: User, zone_id: int) -> Zone:
    zone = Zone.objects.filter(pk=zone_id, organization_id__in=organization_ids_for(actor=actor)).first()
    if zone is None:
        raise NotFoundError("Zone not found.")
    return zone


def spot_list_managed(*, actor: User) -> QuerySet[Spot]:
    return (
        Spot.objects.filter(organization_id__in=organization_ids_for(actor=actor))
        .select_related("zone")
        .order_by("facility_id", "code", "pk")
    )


def spot_get_managed(*, actor: User, spot_id: int) -> Spot | None:
    return Spot.objects.filter(pk=spot_id, organization_id__in=organization_ids_for(actor=actor)).first()


def block_list_managed(*, actor: User) -> QuerySet[SpotBlock]:
    return SpotBlock.objects.filter(organization_id__in=organization_ids_for(actor=actor)).order_by("start", "pk")


def block_get_managed(*, actor: User, block_id: int) -> SpotBlock:
    block = block_list_managed(actor=actor).filter(pk=block_id).first()
    if block is None:
        raise NotFoundError("Block not found.")
    return block


# ---------------------------------------------------------------------------- public


def facility_list_published() -> QuerySet[Facility]:
    return Facility.objects.filter(is_published=True)


def facility_get_visible(*, actor: User | None, facility_id: int) -> tuple[Facility, bool]:
    """A facility the actor may see: published, or managed by the actor.

    Returns the facility and whether the actor manages it (and may see internal fields).
    """
    facility = Facility.objects.filter(pk=facility_id).first()
    managed = bool(
        facility is not None
        and actor is not None
        and organization_ids_for(actor=actor).filter(organization_id=facility.organization_id).exists()
    )
    if facility is None or not (facility.is_published or managed):
        raise NotFoundError("Facility not found.")
    return facility, managed


@dataclass(frozen=True)
class SearchParams:
    lat: float | None = None
    lng: float | None = None
    radius_km: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    requirements: SpotRequirements = SpotRequirements()
    has_ev_charging: bool | None = None
    is_covered: bool | None = None
    is_accessible: bool | None = None
    city: str | None = None


def _available_count(start: datetime, end: datetime, requirements: SpotRequirements) -> Coalesce:
    free = (
        availability.spots_free(start=start, end=end, requirements=requirements)
        .filter(facility_id=OuterRef("pk"))
        .order_by()
        .values("facility_id")
        .annotate(free=Count("pk"))
        .values("free")
    )
    return Coalesce(Subquery(free, output_field=IntegerField()), Value(0))


def facility_search(params: SearchParams) -> QuerySet[Facility]:
    """Published facilities matching the filters, with ``distance_km`` (when a point is given) and
    ``available_spots`` (when a window is given) annotated in the same query."""
    queryset = facility_list_published()
    if params.city:
        queryset = queryset.filter(city__iexact=params.city.strip())
    for field in ("has_ev_charging", "is_covered", "is_accessible"):
        value = getattr(params, field)
        if value is not None:
            queryset = queryset.filter(**{field: value})
    if params.lat is not None and params.lng is not None:
        queryset = geo.within_radius(
            queryset, lat=params.lat, lng=params.lng, radius_km=params.radius_km or geo.MAX_RADIUS_KM
        )
    if params.start is not None and params.end is not None:
        queryset = queryset.annotate(available_spots=_available_count(params.start, params.end, params.requirements))
    return queryset


def facility_open_for(facility: Facility, start: datetime, end: datetime) -> bool:
    return window_within_hours(facility.operating_hours, facility.timezone, start, end)


# ---------------------------------------------------------------------------- availability


def spots_available(
    *,
    start: datetime,
    end: datetime,
    requirements: SpotRequirements,
    facility: Facility,
    zone_id: int | None = None,
) -> QuerySet[Spot]:
    """The facility's spots free for the whole window (empty when the facility is closed then)."""
    if not facility_open_for(facility, start, end):
        return Spot.objects.none()
    queryset = availability.spots_free(start=start, end=end, requirements=requirements).filter(facility=facility)
    if zone_id is not None:
        queryset = queryset.filter(zone_id=zone_id)
    return queryset.select_related("zone").order_by("zone__display_order", "code", "pk")


@dataclass(frozen=True)
class AvailabilitySummary:
    total_available: int
    by_zone: list[dict[str, object]]
    by_category: dict[str, int]


def facility_availability(
    *, facility: Facility, start: datetime, end: datetime, requirements: SpotRequirements
) -> AvailabilitySummary:
    """Free-spot counts per zone and per category for the window (two queries)."""
    free = list(
        spots_available(start=start, end=end, requirements=requirements, facility=facility).values_list(
            "zone_id", "category"
        )
    )
    per_zone = Counter(zone_id for zone_id, _ in free)
    zones = Zone.objects.filter(facility=facility).order_by("display_order", "level", "name", "pk")
    return AvailabilitySummary(
        total_available=len(free),
        by_zone=[
            {"zone_id": zone.pk, "name": zone.name, "level": zone.level, "available": per_zone.get(zone.pk, 0)}
            for zone in zones
        ],
        by_category=dict(sorted(Counter(category for _, category in free).items())),
    )


# ---------------------------------------------------------------------------- spot status now


def spot_current_status(*, spot: Spot, at: datetime | None = None) -> str:
    """``maintenance`` | ``occupied`` | ``reserved`` | ``available`` at ``at`` (default now)."""
    return spot_live_states(spots=[spot], at=at or timezone.now())[spot.pk]


def spot_live_states(*, spots: list[Spot], at: datetime) -> dict[int, str]:
    """The live state of each spot at ``at`` — the one definition (API, dashboard, facility map).

    Maintenance wins (spot not active, or a block covers the instant); then what the registered
    state sources say (bookings: a checked-in vehicle is ``occupied``, an active reservation covering
    the instant is ``reserved``); else ``available``. Two queries whatever the number of spots.
    """
    ids = [spot.pk for spot in spots]
    blocked = set(
        Spot.objects.filter(pk__in=ids)
        .filter(availability.blocked_during(at, at + timedelta(seconds=1)))
        .values_list("pk", flat=True)
    )
    states = availability.spot_states(spot_ids=ids, at=at)
    return {
        spot.pk: "maintenance"
        if spot.status != SpotStatus.ACTIVE or spot.pk in blocked
        else states.get(spot.pk, "available")
        for spot in spots
    }


def spot_get_visible(*, actor: User | None, spot_id: int) -> Spot:
    spot = Spot.objects.select_related("zone", "facility").filter(pk=spot_id).first()
    if spot is None:
        raise NotFoundError("Spot not found.")
    facility_get_visible(actor=actor, facility_id=spot.facility_id)
    return spot


def block_spot_ids(*, block: SpotBlock) -> QuerySet[Spot, int]:
    """The spots a block covers (its spot, its zone's spots, or the whole facility's)."""
    spots = Spot.objects.filter(facility_id=block.facility_id)
    if block.spot_id is not None:
        spots = spots.filter(pk=block.spot_id)
    elif block.zone_id is not None:
        spots = spots.filter(zone_id=block.zone_id)
    return spots.values_list("pk", flat=True)


def block_overlapping_bookings(*, block: SpotBlock) -> list[dict[str, object]]:
    """Existing bookings the block overlaps (they stay valid), as reported by the occupancy sources."""
    return availability.spot_use_overlapping(
        spot_ids=list(block_spot_ids(block=block)), start=block.start, end=block.end
    )
