import io

import pytest
from django.core.management import call_command

from parking.hours import window_within_hours
from parking.models import Facility, Spot, SpotCategory, SpotSize, SpotStatus, Zone

pytestmark = pytest.mark.django_db


def _counts():
    return (Facility.objects.count(), Zone.objects.count(), Spot.objects.count())


def _snapshot():
    return sorted(Spot.objects.values_list("facility__slug", "zone__name", "code", "size", "category", "status"))


def test_seed_demo_twice_creates_the_same_inventory():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first, spots = _counts(), _snapshot()

    second_out = io.StringIO()
    call_command("seed_demo", stdout=second_out)

    assert _counts() == first == (3, 5, 81)
    assert _snapshot() == spots
    assert "Mission Street Garage" in out.getvalue()
    assert "parking:" not in second_out.getvalue()  # nothing to report the second time


def test_demo_facilities_belong_to_the_demo_organizations():
    call_command("seed_demo", stdout=io.StringIO())

    facilities = {f.slug: f for f in Facility.objects.select_related("organization")}
    assert set(facilities) == {"mission-street-garage", "broadway-lot-oakland", "mg-road-driveway"}
    garage, lot, driveway = (
        facilities["mission-street-garage"],
        facilities["broadway-lot-oakland"],
        facilities["mg-road-driveway"],
    )
    assert (garage.organization.slug, garage.kind, garage.city, garage.currency) == (
        "citypark",
        "garage",
        "San Francisco",
        "USD",
    )
    assert (lot.organization.slug, lot.kind, lot.city) == ("citypark", "lot", "Oakland")
    assert (driveway.organization.slug, driveway.kind, driveway.currency, driveway.timezone) == (
        "haris-driveway",
        "driveway",
        "INR",
        "Asia/Kolkata",
    )
    assert all(f.is_published for f in facilities.values())
    assert garage.operating_hours == {"always_open": True}
    assert Spot.objects.filter(facility=driveway).count() == 1
    assert Spot.objects.filter(facility=lot).count() == 20


def test_demo_garage_has_three_levels_and_varied_spots():
    call_command("seed_demo", stdout=io.StringIO())
    garage = Facility.objects.get(slug="mission-street-garage")

    zones = list(Zone.objects.filter(facility=garage).order_by("display_order").values_list("name", "level"))
    spots = Spot.objects.filter(facility=garage)

    assert zones == [("Level 1", 1), ("Level 2", 2), ("Level 3", 3)]
    assert spots.count() >= 55
    categories = set(spots.values_list("category", flat=True))
    assert {SpotCategory.EV, SpotCategory.ACCESSIBLE, SpotCategory.MOTORCYCLE} <= categories
    assert all(spot.has_ev_charger for spot in spots.filter(category=SpotCategory.EV))
    assert all(spot.is_accessible for spot in spots.filter(category=SpotCategory.ACCESSIBLE))
    assert spots.filter(size__in=[SpotSize.LARGE, SpotSize.XLARGE]).exists()
    assert spots.filter(size=SpotSize.XLARGE).exists()
    assert not spots.filter(grid_row__isnull=True).exists()
    # Grid positions are unique per level.
    positions = list(spots.values_list("zone_id", "grid_row", "grid_column"))
    assert len(positions) == len(set(positions))
    assert spots.filter(status=SpotStatus.MAINTENANCE).count() == 1
    # Denormalised columns filled by the services.
    assert set(spots.values_list("organization_id", flat=True)) == {garage.organization_id}


def test_demo_lot_is_closed_on_sundays():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    call_command("seed_demo", stdout=io.StringIO())
    lot = Facility.objects.get(slug="broadway-lot-oakland")
    tz = ZoneInfo(lot.timezone)

    # 2026-03-07 is a Saturday, 2026-03-08 a Sunday.
    assert window_within_hours(
        lot.operating_hours, lot.timezone, datetime(2026, 3, 7, 9, tzinfo=tz), datetime(2026, 3, 7, 21, tzinfo=tz)
    )
    assert not window_within_hours(
        lot.operating_hours, lot.timezone, datetime(2026, 3, 8, 9, tzinfo=tz), datetime(2026, 3, 8, 10, tzinfo=tz)
    )
    assert not window_within_hours(
        lot.operating_hours, lot.timezone, datetime(2026, 3, 7, 21, tzinfo=tz), datetime(2026, 3, 7, 23, tzinfo=tz)
    )


def test_seed_demo_fills_in_a_partially_deleted_inventory():
    call_command("seed_demo", stdout=io.StringIO())
    full = _snapshot()
    Spot.objects.filter(code__in=["L2-05", "P-07"]).delete()

    call_command("seed_demo", stdout=io.StringIO())

    assert _snapshot() == full
