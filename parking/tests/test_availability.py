"""The one definition of "free": status, blocks (spot / zone / facility, half-open), the vehicle
compatibility table, operating hours, registered occupancy sources — and bounded query counts."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization, User
from accounts.tests.factories import OrganizationFactory, UserFactory
from parking import availability
from parking.availability import (
    OccupancySource,
    SpotRequirements,
    register_occupancy_source,
    spots_free,
    unregister_occupancy_source,
)
from parking.models import Facility, Spot, SpotBlock, Zone
from parking.selectors import (
    AvailabilitySummary,
    SearchParams,
    facility_availability,
    facility_search,
    spot_current_status,
    spots_available,
)
from parking.services import block_create, spot_bulk_create

from .factories import make_facility, make_spot, make_zone

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0, *, day: int = 15) -> datetime:
    """2026-06-<day> hh:mm UTC (the 15th is a Monday)."""
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


WINDOW = (at(10), at(12))


def free_codes(
    facility: Facility, start: datetime, end: datetime, requirements: SpotRequirements | None = None
) -> set[str]:
    queryset = spots_free(start=start, end=end, requirements=requirements or SpotRequirements())
    return set(queryset.filter(facility=facility).values_list("code", flat=True))


def utc_facility(org: Organization, name: str, **overrides: Any) -> Facility:
    return make_facility(org, name=name, timezone="UTC", **overrides)


# ---------------------------------------------------------------------------- status


def test_only_active_spots_are_free(org_a: Organization) -> None:
    zone = make_zone(utc_facility(org_a, "Garage"))
    make_spot(zone, "A1")
    make_spot(zone, "A2", status="maintenance")
    make_spot(zone, "A3", status="inactive")

    assert free_codes(zone.facility, *WINDOW) == {"A1"}
    assert list(
        spots_available(start=WINDOW[0], end=WINDOW[1], requirements=SpotRequirements(), facility=zone.facility)
    ) == [Spot.objects.get(code="A1")]


# ---------------------------------------------------------------------------- blocks


@dataclass
class Site:
    facility: Facility
    zone_1: Zone
    zone_2: Zone
    spots: dict[str, Spot]
    other_facility: Facility
    actor: User


@pytest.fixture
def site(org_a: Organization) -> Site:
    facility = utc_facility(org_a, "Main")
    zone_1 = make_zone(facility, name="Z1", display_order=1)
    zone_2 = make_zone(facility, name="Z2", display_order=2)
    spots = {code: make_spot(zone_1, code) for code in ("A1", "A2")}
    spots |= {code: make_spot(zone_2, code) for code in ("B1", "B2")}
    other = utc_facility(org_a, "Other")
    spots["C1"] = make_spot(make_zone(other, name="Z1"), "C1")
    return Site(facility, zone_1, zone_2, spots, other, UserFactory())


def block(site: Site, scope: str, start: datetime, end: datetime) -> SpotBlock:
    target: dict[str, Any] = {"spot": {"spot": site.spots["A1"]}, "zone": {"zone": site.zone_1}, "facility": {}}[scope]
    return block_create(actor=site.actor, facility=site.facility, start=start, end=end, reason="maintenance", **target)


COVERED = {"spot": {"A1"}, "zone": {"A1", "A2"}, "facility": {"A1", "A2", "B1", "B2"}}
ALL_MAIN = {"A1", "A2", "B1", "B2"}


@pytest.mark.parametrize("scope", ["spot", "zone", "facility"])
@pytest.mark.parametrize(
    ("block_window", "overlaps"),
    [
        ((at(8), at(10)), False),  # ends exactly when the window starts: half-open, no overlap
        ((at(12), at(14)), False),  # starts exactly when the window ends
        ((at(9), at(10, 1)), True),
        ((at(11, 59), at(13)), True),
        ((at(10, 30), at(11)), True),  # inside
        ((at(9), at(13)), True),  # covers
        ((at(10), at(12)), True),  # identical
        ((at(10), at(12, day=16)), True),
        ((at(10, day=14), at(10, day=16)), True),
    ],
)
def test_a_block_takes_out_exactly_the_covered_spots_while_it_overlaps(
    site: Site, scope: str, block_window: tuple[datetime, datetime], overlaps: bool
) -> None:
    block(site, scope, *block_window)

    expected = ALL_MAIN - COVERED[scope] if overlaps else ALL_MAIN
    assert free_codes(site.facility, *WINDOW) == expected
    assert free_codes(site.other_facility, *WINDOW) == {"C1"}  # another facility is never affected


@pytest.mark.parametrize("scope", ["spot", "zone", "facility"])
def test_after_the_block_ends_the_spots_are_free_again(site: Site, scope: str) -> None:
    block(site, scope, at(9), at(11))

    assert free_codes(site.facility, at(10), at(11)) == ALL_MAIN - COVERED[scope]
    assert free_codes(site.facility, at(11), at(12)) == ALL_MAIN
    assert free_codes(site.facility, at(8), at(9)) == ALL_MAIN


def test_spots_available_is_ordered_by_zone_then_code_and_narrowed_by_zone(site: Site) -> None:
    block(site, "spot", *WINDOW)
    requirements = SpotRequirements()

    everything = spots_available(start=WINDOW[0], end=WINDOW[1], requirements=requirements, facility=site.facility)
    in_zone_2 = spots_available(
        start=WINDOW[0], end=WINDOW[1], requirements=requirements, facility=site.facility, zone_id=site.zone_2.pk
    )

    assert [spot.code for spot in everything] == ["A2", "B1", "B2"]
    assert [spot.code for spot in in_zone_2] == ["B1", "B2"]


# ---------------------------------------------------------------------------- compatibility table

INVENTORY: dict[str, dict[str, Any]] = {
    "S": {"size": "small"},
    "M": {"size": "medium"},
    "L": {"size": "large"},
    "X": {"size": "xlarge"},
    "VIP": {"size": "xlarge", "category": "vip"},
    "MC": {"size": "small", "category": "motorcycle"},
    "EV": {"size": "medium", "category": "ev", "has_ev_charger": True, "ev_charger_status": "available"},
    "EVBUSY": {"size": "medium", "category": "ev", "has_ev_charger": True, "ev_charger_status": "in_use"},
    "EVOOS": {"size": "medium", "category": "ev", "has_ev_charger": True, "ev_charger_status": "out_of_service"},
    "XEV": {"size": "xlarge", "category": "ev", "has_ev_charger": True, "ev_charger_status": "available"},
    "CHG": {"size": "medium", "has_ev_charger": True, "ev_charger_status": "available"},  # standard with charger
    "ACC": {"size": "large", "category": "accessible", "is_accessible": True},
    "ACCSTD": {"size": "large", "is_accessible": True},  # a standard spot with accessible features
}


def _case_id(value: object) -> str:
    """Stable test ids (a set's repr changes with hash randomisation, and xdist workers must agree)."""
    if isinstance(value, SpotRequirements):
        flags = [name for name in ("is_ev", "needs_ev", "needs_accessible") if getattr(value, name)]
        return "+".join([value.vehicle_type or "any", *flags])
    assert isinstance(value, set)
    return ",".join(sorted(value)) or "nothing"


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        (SpotRequirements(), set(INVENTORY)),
        (SpotRequirements(vehicle_type="motorcycle"), {"S", "M", "L", "X", "VIP", "MC", "CHG", "ACCSTD"}),
        (SpotRequirements(vehicle_type="compact"), {"S", "M", "L", "X", "VIP", "CHG", "ACCSTD"}),
        (SpotRequirements(vehicle_type="standard"), {"M", "L", "X", "VIP", "CHG", "ACCSTD"}),
        (SpotRequirements(vehicle_type="suv"), {"L", "X", "VIP", "ACCSTD"}),
        (SpotRequirements(vehicle_type="van"), {"X", "VIP"}),
        # EVs may also use ev spots, whatever the charger's state, unless they need to charge.
        (
            SpotRequirements(vehicle_type="standard", is_ev=True),
            {"M", "L", "X", "VIP", "CHG", "ACCSTD", "EV", "EVBUSY", "EVOOS", "XEV"},
        ),
        (
            SpotRequirements(vehicle_type="motorcycle", is_ev=True),
            {"S", "M", "L", "X", "VIP", "MC", "CHG", "ACCSTD", "EV", "EVBUSY", "EVOOS", "XEV"},
        ),
        (SpotRequirements(vehicle_type="van", is_ev=True), {"X", "VIP", "XEV"}),
        # needs_ev: a charger that is not out of service (in use is fine: it frees up).
        (SpotRequirements(vehicle_type="standard", needs_ev=True), {"CHG", "EV", "EVBUSY", "XEV"}),
        (SpotRequirements(vehicle_type="van", needs_ev=True), {"XEV"}),
        (SpotRequirements(vehicle_type="compact", is_ev=False, needs_ev=True), {"CHG", "EV", "EVBUSY", "XEV"}),
        (SpotRequirements(needs_ev=True), {"CHG", "EV", "EVBUSY", "XEV"}),
        # Accessible spots only when asked for, and then only spots with accessible features.
        (SpotRequirements(vehicle_type="standard", needs_accessible=True), {"ACC", "ACCSTD"}),
        (SpotRequirements(vehicle_type="van", needs_accessible=True), set()),
        (SpotRequirements(needs_accessible=True), {"ACC", "ACCSTD"}),
        (SpotRequirements(vehicle_type="suv", needs_ev=True, needs_accessible=True), set()),
    ],
    ids=_case_id,
)
def test_vehicle_compatibility_table(org_a: Organization, requirements: SpotRequirements, expected: set[str]) -> None:
    zone = make_zone(utc_facility(org_a, "Mixed"))
    for code, fields in INVENTORY.items():
        make_spot(zone, code, **fields)

    assert free_codes(zone.facility, *WINDOW, requirements) == expected


# ---------------------------------------------------------------------------- operating hours and summary

OFFICE_HOURS = {"always_open": False, "weekly": {str(day): [["08:00", "18:00"]] for day in range(5)}}


def test_a_closed_facility_has_nothing_available(org_a: Organization) -> None:
    facility = utc_facility(org_a, "Office lot", operating_hours=OFFICE_HOURS)
    zone = make_zone(facility, name="Lot")
    make_spot(zone, "P1")
    make_spot(zone, "P2")
    saturday = (at(10, day=20), at(12, day=20))
    monday_evening = (at(17), at(19))
    requirements = SpotRequirements()

    for start, end in (saturday, monday_evening):
        assert list(spots_available(start=start, end=end, requirements=requirements, facility=facility)) == []
        assert facility_availability(facility=facility, start=start, end=end, requirements=requirements) == (
            AvailabilitySummary(
                total_available=0,
                by_zone=[{"zone_id": zone.pk, "name": "Lot", "level": 1, "available": 0}],
                by_category={},
            )
        )
    # Open hours: both spots. (spots_free itself does not read hours; its callers do, per facility.)
    assert [s.code for s in spots_available(start=at(9), end=at(11), requirements=requirements, facility=facility)] == [
        "P1",
        "P2",
    ]
    assert free_codes(facility, *saturday) == {"P1", "P2"}


def test_facility_availability_counts_per_zone_and_category_in_two_queries(
    org_a: Organization, django_assert_num_queries: Any
) -> None:
    facility = utc_facility(org_a, "Tower")
    roof = make_zone(facility, name="Roof", level=5, display_order=1)
    ground = make_zone(facility, name="Ground", level=0, display_order=0)
    basement = make_zone(facility, name="Basement", level=-1, display_order=0)
    make_spot(ground, "G1")
    make_spot(ground, "G2", category="vip", size="xlarge")
    make_spot(ground, "G3", status="maintenance")
    make_spot(basement, "B1", category="ev", has_ev_charger=True)
    make_spot(basement, "B2")
    roof_spot = make_spot(roof, "R1")
    block_create(actor=UserFactory(), facility=facility, start=at(9), end=at(11), reason="maintenance", spot=roof_spot)

    with django_assert_num_queries(2):
        summary = facility_availability(facility=facility, start=at(10), end=at(12), requirements=SpotRequirements())

    assert summary == AvailabilitySummary(
        total_available=4,
        by_zone=[
            {"zone_id": basement.pk, "name": "Basement", "level": -1, "available": 2},
            {"zone_id": ground.pk, "name": "Ground", "level": 0, "available": 2},
            {"zone_id": roof.pk, "name": "Roof", "level": 5, "available": 0},
        ],
        by_category={"ev": 1, "standard": 2, "vip": 1},
    )
    standard_car = facility_availability(
        facility=facility, start=at(10), end=at(12), requirements=SpotRequirements(vehicle_type="standard")
    )
    assert (standard_car.total_available, standard_car.by_category) == (3, {"standard": 2, "vip": 1})


# ---------------------------------------------------------------------------- occupancy sources


@dataclass
class FakeBookings:
    """A tiny occupancy source: its "bookings" are SpotBlock rows on a private ledger facility (which
    has no spots, so they block nothing), ``note`` holding the spot id. ``occupying`` is an SQL Exists
    correlated to the spot, like the real bookings source."""

    name: str
    ledger: Facility
    state_of: dict[int, str] = field(default_factory=dict)
    calls: list[tuple[datetime, datetime]] = field(default_factory=list)

    def book(self, spot: Spot, start: datetime, end: datetime, state: str = "reserved") -> None:
        SpotBlock.objects.create(
            organization_id=self.ledger.organization_id, facility=self.ledger, start=start, end=end, note=str(spot.pk)
        )
        self.state_of[spot.pk] = state

    def _rows(self, start: datetime, end: datetime) -> Any:
        return SpotBlock.objects.filter(facility=self.ledger, start__lt=end, end__gt=start)

    def occupying(self, start: datetime, end: datetime) -> Exists:
        self.calls.append((start, end))
        return Exists(self._rows(start, end).filter(note=Cast(OuterRef("pk"), CharField())))

    def states(self, spot_ids: list[int], at_: datetime) -> dict[int, str]:
        notes = self._rows(at_, at_ + timedelta(microseconds=1)).values_list("note", flat=True)
        return {int(note): self.state_of[int(note)] for note in notes if int(note) in spot_ids}

    def overlapping(self, spot_ids: list[int], start: datetime, end: datetime) -> list[dict[str, Any]]:
        notes = self._rows(start, end).values_list("note", flat=True)
        return [{"spot_id": int(note)} for note in notes if int(note) in spot_ids]

    def source(self) -> OccupancySource:
        return OccupancySource(
            name=self.name, occupying=self.occupying, states=self.states, overlapping=self.overlapping
        )


@pytest.fixture
def make_source(request: pytest.FixtureRequest) -> Iterator[Any]:
    def make(name: str = "test") -> FakeBookings:
        ledger = make_facility(OrganizationFactory(), name=f"ledger {name}", is_published=False, timezone="UTC")
        fake = FakeBookings(name, ledger)
        register_occupancy_source(fake.source())
        request.addfinalizer(lambda: unregister_occupancy_source(name))
        return fake

    return make


def test_a_registered_source_takes_spots_out_during_its_window_only(site: Site, make_source: Any) -> None:
    bookings = make_source()
    bookings.book(site.spots["A1"], at(10), at(12))
    bookings.book(site.spots["C1"], at(10), at(12))

    assert free_codes(site.facility, *WINDOW) == ALL_MAIN - {"A1"}
    assert bookings.calls == [WINDOW]
    assert free_codes(site.facility, at(11), at(11, 30)) == ALL_MAIN - {"A1"}
    assert free_codes(site.facility, at(12), at(13)) == ALL_MAIN  # half-open
    assert free_codes(site.facility, at(9), at(10)) == ALL_MAIN
    assert free_codes(site.other_facility, *WINDOW) == set()


def test_every_registered_source_is_honoured_and_unregistering_frees_the_spot(site: Site, make_source: Any) -> None:
    bookings, sessions = make_source("test"), make_source("test-sessions")
    bookings.book(site.spots["A1"], *WINDOW)
    sessions.book(site.spots["B2"], *WINDOW)

    assert free_codes(site.facility, *WINDOW) == {"A2", "B1"}

    unregister_occupancy_source("test-sessions")

    assert free_codes(site.facility, *WINDOW) == {"A2", "B1", "B2"}


def test_facility_search_available_spots_honours_blocks_and_sources(site: Site, make_source: Any) -> None:
    bookings = make_source()
    bookings.book(site.spots["A1"], at(10), at(12))
    block(site, "spot", at(11), at(13))  # A1 again: counted once
    block_create(actor=site.actor, facility=site.facility, start=at(11), end=at(13), reason="event", zone=site.zone_2)
    make_spot(site.zone_2, "B3", status="maintenance")

    def counts(start: datetime, end: datetime, **params: Any) -> dict[str, int]:
        results = facility_search(SearchParams(start=start, end=end, **params))
        return {f.name: f.available_spots for f in results}

    assert counts(*WINDOW) == {"Main": 1, "Other": 1}  # A2 only; C1
    assert counts(at(10), at(11)) == {"Main": 3, "Other": 1}  # A1 booked; the blocks start at 11:00
    assert counts(at(13), at(14)) == {"Main": 4, "Other": 1}
    assert counts(at(10), at(11), lat=37.789, lng=-122.401, radius_km=1) == {"Main": 3, "Other": 1}
    assert counts(at(10), at(11), requirements=SpotRequirements(vehicle_type="van")) == {"Main": 0, "Other": 0}


def test_spot_status_now_reads_the_sources_and_occupied_wins(site: Site, make_source: Any) -> None:
    bookings, sessions = make_source("test"), make_source("test-sessions")
    bookings.book(site.spots["A1"], at(10), at(12), state="reserved")
    bookings.book(site.spots["A2"], at(10), at(12), state="reserved")
    sessions.book(site.spots["A2"], at(10), at(12), state="occupied")
    block(site, "zone", at(11), at(12))  # zone Z1 under maintenance from 11:00

    assert spot_current_status(spot=site.spots["A1"], at=at(10, 30)) == "reserved"
    assert spot_current_status(spot=site.spots["A2"], at=at(10, 30)) == "occupied"
    assert spot_current_status(spot=site.spots["A1"], at=at(11, 30)) == "maintenance"
    assert spot_current_status(spot=site.spots["B1"], at=at(10, 30)) == "available"
    assert spot_current_status(spot=site.spots["A1"], at=at(12)) == "available"
    assert availability.spot_use_overlapping(spot_ids=[site.spots["A2"].pk], start=at(11), end=at(13)) == [
        {"spot_id": site.spots["A2"].pk},
        {"spot_id": site.spots["A2"].pk},
    ]


# ---------------------------------------------------------------------------- query budgets


def _build(org: Organization, first: int, last: int, actor: User) -> dict[str, int]:
    """Facilities F<first>…F<last - 1> with two zones of three spots each; every third facility has a zone
    block. Returns the expected free count per facility for WINDOW."""
    expected: dict[str, int] = {}
    for index in range(first, last):
        facility = utc_facility(org, f"F{index:02d}", latitude="37.78", longitude="-122.40")
        zones = [make_zone(facility, name=f"Z{n}") for n in (1, 2)]
        for zone in zones:
            spot_bulk_create(zone=zone, prefix=zone.name + "-", first_number=1, last_number=3, data={})
        if index % 3 == 0:
            block_create(actor=actor, facility=facility, start=at(9), end=at(11), reason="event", zone=zones[0])
        expected[facility.name] = 3 if index % 3 == 0 else 6
    return expected


@pytest.mark.parametrize("geo_filter", [False, True])
def test_search_with_a_window_runs_one_query_whatever_the_number_of_facilities(
    org_a: Organization, make_source: Any, geo_filter: bool
) -> None:
    make_source()  # an occupancy source is part of the same query, not an extra one per facility
    actor = UserFactory()
    params: dict[str, Any] = {"start": WINDOW[0], "end": WINDOW[1]}
    if geo_filter:
        params |= {"lat": 37.78, "lng": -122.40, "radius_km": 5}
    query_counts = []
    expected: dict[str, int] = {}
    for total in (3, 30):
        expected |= _build(org_a, len(expected), total, actor)
        with CaptureQueriesContext(connection) as queries:
            found = {f.name: f.available_spots for f in facility_search(SearchParams(**params))}
        assert found == expected
        query_counts.append(len(queries))

    assert len(expected) == 30
    assert query_counts == [1, 1]
