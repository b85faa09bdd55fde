"""Demo inventory (called by ``manage.py seed_demo`` after the demo organizations exist; idempotent).

CityPark (operator, USD) gets a 60-spot multi-level garage in San Francisco (24/7) and a 20-spot
surface lot in Oakland (Mon–Sat 06:00–22:00, closed Sundays); Hari's Driveway (host, INR) gets one
driveway spot in Bengaluru. Everything is created through the services. A facility is found by its
slug, a zone by its name and a spot by its code, so a second run creates nothing and a run after a
partial one fills in only what is missing (existing rows are never changed).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts.models import Organization, User

from .hours import ALWAYS_OPEN
from .models import (
    ChargerStatus,
    EarlyExitRefund,
    Facility,
    FacilityKind,
    Spot,
    SpotCategory,
    SpotSize,
    SpotStatus,
    Zone,
    ZoneKind,
)
from .services import facility_create, spot_bulk_create, spot_create, zone_create


def _weekly(days: dict[int, list[list[str]]]) -> dict[str, Any]:
    return {"always_open": False, "weekly": {str(day): days.get(day, []) for day in range(7)}}


@dataclass(frozen=True)
class SpotRun:
    """Spots ``{prefix}{n:02}`` for n in [first, last], all with the same attributes."""

    prefix: str
    first: int
    last: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoZone:
    name: str
    level: int
    kind: str
    display_order: int
    # Either individual spots (with grid positions) or runs created with spot_bulk_create.
    spots: list[dict[str, Any]] = field(default_factory=list)
    runs: list[SpotRun] = field(default_factory=list)


@dataclass(frozen=True)
class DemoFacility:
    organization_slug: str
    data: dict[str, Any]
    zones: list[DemoZone]


# ---------------------------------------------------------------------------- the garage

STANDARD: dict[str, Any] = {"size": SpotSize.MEDIUM, "category": SpotCategory.STANDARD}
EV: dict[str, Any] = {"size": SpotSize.MEDIUM, "category": SpotCategory.EV, "has_ev_charger": True}
ACCESSIBLE: dict[str, Any] = {"size": SpotSize.LARGE, "category": SpotCategory.ACCESSIBLE, "is_accessible": True}
MOTORCYCLE: dict[str, Any] = {"size": SpotSize.SMALL, "category": SpotCategory.MOTORCYCLE}
LARGE: dict[str, Any] = {"size": SpotSize.LARGE, "category": SpotCategory.STANDARD}
XLARGE: dict[str, Any] = {"size": SpotSize.XLARGE, "category": SpotCategory.STANDARD}
COMPACT: dict[str, Any] = {"size": SpotSize.SMALL, "category": SpotCategory.STANDARD}

# Per level: 20 spots on a 2 × 10 grid, column by column along the two sides of the driving aisle.
GARAGE_LAYOUT: dict[int, list[dict[str, Any]]] = {
    # Level 1 (street level, by the elevator): accessible bays, EV chargers, motorcycles, a van bay.
    1: [ACCESSIBLE] * 4 + [EV] * 4 + [STANDARD] * 7 + [XLARGE] + [MOTORCYCLE] * 4,
    # Level 2: EV chargers, SUVs at the ramp end.
    2: [EV] * 4 + [STANDARD] * 12 + [LARGE] * 4,
    # Level 3 (roof deck, open air): compact spots, one extra-large bay, one spot under repair.
    3: [STANDARD] * 14 + [COMPACT] * 4 + [XLARGE] + [{**STANDARD, "status": SpotStatus.MAINTENANCE}],
}


def _garage_spots(level: int) -> list[dict[str, Any]]:
    spots = []
    for index, kind in enumerate(GARAGE_LAYOUT[level]):
        spot = {
            "code": f"L{level}-{index + 1:02}",
            "grid_row": index % 2 + 1,
            "grid_column": index // 2 + 1,
            "is_covered": level < 3,
            **kind,
        }
        spots.append(spot)
    if level == 2:
        # One charger is broken: the spot stays bookable as a plain spot, not for EV charging.
        spots[3]["ev_charger_status"] = ChargerStatus.OUT_OF_SERVICE
    return spots


GARAGE = DemoFacility(
    organization_slug="citypark",
    data={
        "name": "CityPark Mission Street Garage",
        "slug": "mission-street-garage",
        "kind": FacilityKind.GARAGE,
        "description": "Three-level garage two blocks from Montgomery BART, open around the clock. "
        "EV charging on levels 1 and 2, accessible bays next to the elevator, motorcycle parking on level 1.",
        "address_line": "560 Mission St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
        "latitude": Decimal("37.789000"),
        "longitude": Decimal("-122.401000"),
        "timezone": "America/Los_Angeles",
        "currency": "USD",
        "operating_hours": dict(ALWAYS_OPEN),
        "is_covered": True,
        "has_ev_charging": True,
        "has_security": True,
        "has_lighting": True,
        "is_accessible": True,
        "access_instructions": "Enter from Mission St between 1st and 2nd. Scan your booking QR code at the "
        "entry barrier; the elevator is next to the accessible bays on level 1. Clearance 2.1 m (6'10\").",
        "is_published": True,
        "reservation_grace_minutes": 20,
        "early_checkin_minutes": 15,
        "min_booking_minutes": 30,
        "max_booking_minutes": 60 * 24 * 30,
        "requires_prepayment": True,
        "free_cancellation_minutes": 60,
        "late_cancellation_fee_percent": 50,
        "early_exit_refund": EarlyExitRefund.PRORATED,
        "early_exit_minimum_fee": 500,  # $5.00
        "no_show_fee_percent": 100,
        "overstay_grace_minutes": 15,
        "overstay_rate_per_hour": 1200,  # $12.00 per started hour
    },
    zones=[
        DemoZone(
            name=f"Level {level}",
            level=level,
            kind=ZoneKind.FLOOR,
            display_order=level,
            spots=_garage_spots(level),
        )
        for level in (1, 2, 3)
    ],
)

# ---------------------------------------------------------------------------- the surface lot

LOT = DemoFacility(
    organization_slug="citypark",
    data={
        "name": "CityPark Broadway Lot",
        "slug": "broadway-lot-oakland",
        "kind": FacilityKind.LOT,
        "description": "Open-air lot in Uptown Oakland, a short walk from 19th St BART and the Fox Theater.",
        "address_line": "1911 Broadway",
        "city": "Oakland",
        "region": "CA",
        "postal_code": "94612",
        "country": "US",
        "latitude": Decimal("37.807600"),
        "longitude": Decimal("-122.269900"),
        "timezone": "America/Los_Angeles",
        "currency": "USD",
        # Mon–Sat 06:00–22:00, closed on Sundays.
        "operating_hours": _weekly({day: [["06:00", "22:00"]] for day in range(6)}),
        "is_covered": False,
        "has_ev_charging": False,
        "has_security": False,
        "has_lighting": True,
        "is_accessible": True,
        "access_instructions": "Entrance on 20th St. Show your booking QR code to the attendant; the lot is "
        "locked from 22:00 to 06:00 and all day on Sundays, so collect your car before closing.",
        "is_published": True,
        "reservation_grace_minutes": 15,
        "early_checkin_minutes": 10,
        "min_booking_minutes": 60,
        "max_booking_minutes": 16 * 60,  # one opening day at most: the lot closes overnight
        "requires_prepayment": True,
        "free_cancellation_minutes": 120,
        "late_cancellation_fee_percent": 25,
        "early_exit_refund": EarlyExitRefund.NONE,
        "early_exit_minimum_fee": 0,
        "no_show_fee_percent": 50,
        "overstay_grace_minutes": 10,
        "overstay_rate_per_hour": 800,  # $8.00 per started hour
    },
    zones=[
        DemoZone(
            name="Main lot",
            level=0,
            kind=ZoneKind.LOT,
            display_order=1,
            runs=[
                SpotRun("P-", 1, 2, ACCESSIBLE),
                SpotRun("P-", 3, 16, STANDARD),
                SpotRun("P-", 17, 20, LARGE),
            ],
        )
    ],
)

# ---------------------------------------------------------------------------- the host driveway

DRIVEWAY = DemoFacility(
    organization_slug="haris-driveway",
    data={
        "name": "Driveway off MG Road",
        "slug": "mg-road-driveway",
        "kind": FacilityKind.DRIVEWAY,
        "description": "Private gated driveway in a quiet lane off MG Road, fits one car up to SUV size.",
        "address_line": "14 Rest House Crescent",
        "city": "Bengaluru",
        "region": "Karnataka",
        "postal_code": "560001",
        "country": "IN",
        "latitude": Decimal("12.971600"),
        "longitude": Decimal("77.594600"),
        "timezone": "Asia/Kolkata",
        "currency": "INR",
        # The host parks here overnight: daily 07:00–21:00.
        "operating_hours": _weekly({day: [["07:00", "21:00"]] for day in range(7)}),
        "is_covered": False,
        "has_ev_charging": False,
        "has_security": False,
        "has_lighting": True,
        "is_accessible": False,
        "access_instructions": "Blue gate opposite the bakery. Ring the bell or call the host on arrival; park "
        "nose-in and do not block the neighbour's gate.",
        "is_published": True,
        "reservation_grace_minutes": 10,
        "early_checkin_minutes": 10,
        "min_booking_minutes": 60,
        "max_booking_minutes": 14 * 60,
        "requires_prepayment": True,
        "free_cancellation_minutes": 180,
        "late_cancellation_fee_percent": 50,
        "early_exit_refund": EarlyExitRefund.NONE,
        "early_exit_minimum_fee": 0,
        "no_show_fee_percent": 100,
        "overstay_grace_minutes": 10,
        "overstay_rate_per_hour": 5000,  # ₹50 per started hour
    },
    zones=[
        DemoZone(
            name="Driveway",
            level=0,
            kind=ZoneKind.SECTION,
            display_order=1,
            spots=[{"code": "D-1", **LARGE, "grid_row": 1, "grid_column": 1}],
        )
    ],
)

DEMO_FACILITIES: list[DemoFacility] = [GARAGE, LOT, DRIVEWAY]


# ---------------------------------------------------------------------------- seeding


def _ensure_spots(zone: Zone, demo: DemoZone) -> int:
    created = 0
    taken = set(Spot.objects.filter(facility_id=zone.facility_id).values_list("code", flat=True))
    for spot in demo.spots:
        if spot["code"] not in taken:
            spot_create(zone=zone, data=spot)
            created += 1
    for run in demo.runs:
        codes = [f"{run.prefix}{n:02}" for n in range(run.first, run.last + 1)]
        missing = [code for code in codes if code not in taken]
        if len(missing) == len(codes):
            created += len(
                spot_bulk_create(
                    zone=zone, prefix=run.prefix, first_number=run.first, last_number=run.last, width=2, data=run.data
                )
            )
        else:  # a partial earlier run: fill in the gaps one by one
            for code in missing:
                spot_create(zone=zone, data={**run.data, "code": code})
                created += 1
    return created


def _ensure_facility(demo: DemoFacility, stdout: Any) -> None:
    organization = Organization.objects.filter(slug=demo.organization_slug).first()
    if organization is None:  # the accounts part of seed_demo creates it; nothing to attach to otherwise
        stdout.write(f"  parking: organization {demo.organization_slug!r} is missing, skipped {demo.data['name']}")
        return
    facility = Facility.objects.filter(organization=organization, slug=demo.data["slug"]).first()
    is_new = facility is None
    if facility is None:
        facility = facility_create(organization=organization, data=demo.data)
    spots_created = 0
    for demo_zone in demo.zones:
        zone = Zone.objects.filter(facility=facility, name=demo_zone.name).first()
        if zone is None:
            zone = zone_create(
                facility=facility,
                data={
                    "name": demo_zone.name,
                    "level": demo_zone.level,
                    "kind": demo_zone.kind,
                    "display_order": demo_zone.display_order,
                },
            )
        spots_created += _ensure_spots(zone, demo_zone)
    if is_new or spots_created:
        plural = "" if spots_created == 1 else "s"
        stdout.write(f"  parking: {facility.name} ({organization.name}): {spots_created} spot{plural} added")


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    """Create the demo facilities, zones and spots that do not exist yet (``users`` is unused: the
    inventory belongs to the demo organizations, not to people)."""
    for demo in DEMO_FACILITIES:
        _ensure_facility(demo, stdout)
