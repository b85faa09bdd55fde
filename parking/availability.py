"""The one definition of "free" (ARCHITECTURE §6, issue: one availability selector).

A spot is free for ``[start, end)`` when:

1. its status is ``active``;
2. no block overlaps the window (spot, zone or facility scope);
3. it fits the vehicle (``parking.compatibility``) and offers what the driver asked for;
4. no registered occupancy source (bookings, drive-in sessions — registered by higher apps in their
   ``AppConfig.ready()``) says it is taken during the window;

and its facility is open for the whole window (``parking.hours``; checked per facility by the callers
that know the facility, because hours are JSON evaluated in the facility's zone).

Higher apps plug in through :func:`register_occupancy_source`. This is the project's one mechanism for
a lower app to learn about higher-app state: a registry filled in ``ready()``, no signals.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from .compatibility import allowed_categories, fitting_sizes
from .models import ChargerStatus, Spot, SpotBlock, SpotStatus


@dataclass(frozen=True)
class OccupancySource:
    """What a higher app (bookings) tells inventory about spot use.

    ``occupying(start, end)``: an ``Exists`` over its rows holding a spot during ``[start, end)``,
    correlated to the spot through ``OuterRef("pk")``.
    ``states(spot_ids, at)``: ``{spot_id: "occupied" | "reserved"}`` for spots in use at instant ``at``.
    ``overlapping(spot_ids, start, end)``: the rows holding any of the spots during the window, as
    plain dicts for display (e.g. the bookings a new block overlaps).
    """

    name: str
    occupying: Callable[[datetime, datetime], Exists]
    states: Callable[[list[int], datetime], dict[int, str]]
    overlapping: Callable[[list[int], datetime, datetime], list[dict[str, Any]]]


_occupancy_sources: dict[str, OccupancySource] = {}


def register_occupancy_source(source: OccupancySource) -> None:
    """Register (or replace, by name) a source of spot occupancy. Called from ``AppConfig.ready()``."""
    _occupancy_sources[source.name] = source


def unregister_occupancy_source(name: str) -> None:
    _occupancy_sources.pop(name, None)


@dataclass(frozen=True)
class SpotRequirements:
    """What the driver needs. ``vehicle_type`` None means "any spot" (operator views, counts)."""

    vehicle_type: str | None = None
    is_ev: bool = False
    needs_ev: bool = False
    needs_accessible: bool = False

    def filter(self) -> Q:
        condition = Q()
        if self.vehicle_type is not None:
            condition &= Q(size__in=fitting_sizes(self.vehicle_type))
            condition &= Q(
                category__in=allowed_categories(
                    vehicle_type=self.vehicle_type,
                    is_ev=self.is_ev or self.needs_ev,
                    needs_accessible=self.needs_accessible,
                )
            )
        if self.needs_ev:
            condition &= Q(has_ev_charger=True) & ~Q(ev_charger_status=ChargerStatus.OUT_OF_SERVICE)
        if self.needs_accessible:
            condition &= Q(is_accessible=True)
        return condition


def blocked_during(start: datetime, end: datetime) -> Exists:
    """A block overlapping ``[start, end)`` on this spot, its zone or its facility."""
    return Exists(
        SpotBlock.objects.filter(facility_id=OuterRef("facility_id"), start__lt=end, end__gt=start).filter(
            Q(spot_id=OuterRef("pk"))
            | Q(spot__isnull=True, zone_id=OuterRef("zone_id"))
            | Q(spot__isnull=True, zone__isnull=True)
        )
    )


def occupied_during(start: datetime, end: datetime) -> Q:
    """True where any registered source holds the spot during the window."""
    condition = Q()
    for source in _occupancy_sources.values():
        condition |= Q(source.occupying(start, end))
    return condition


def spot_states(*, spot_ids: list[int], at: datetime) -> dict[int, str]:
    """``occupied`` beats ``reserved`` when two sources disagree."""
    states: dict[int, str] = {}
    for source in _occupancy_sources.values():
        for spot_id, state in source.states(spot_ids, at).items():
            if states.get(spot_id) != "occupied":
                states[spot_id] = state
    return states


def spot_use_overlapping(*, spot_ids: list[int], start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for source in _occupancy_sources.values():
        rows.extend(source.overlapping(spot_ids, start, end))
    return rows


def spots_free(
    *, start: datetime, end: datetime, requirements: SpotRequirements = SpotRequirements()
) -> QuerySet[Spot]:
    """Every spot free for the whole window (all facilities; callers narrow by facility/zone)."""
    queryset = Spot.objects.filter(status=SpotStatus.ACTIVE).filter(requirements.filter())
    queryset = queryset.filter(~blocked_during(start, end))
    occupied = occupied_during(start, end)
    if occupied:
        queryset = queryset.exclude(occupied)
    return queryset
