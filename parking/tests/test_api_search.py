"""Driver-facing search and availability, window validation, cache freshness, query budgets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parking import availability
from parking.availability import OccupancySource
from parking.models import Spot, SpotBlock

from .factories import make_facility, make_spot, make_zone

pytestmark = pytest.mark.django_db


def _iso(dt):
    return dt.isoformat()


@pytest.fixture
def window():
    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=2)


@pytest.fixture
def garage(org_a):
    facility = make_facility(org_a, name="Garage", has_ev_charging=True, is_covered=True)
    zone = make_zone(facility, name="Level 1")
    make_spot(zone, "A-1", size="medium")
    make_spot(zone, "A-2", size="large")
    make_spot(zone, "V-1", size="xlarge")
    make_spot(zone, "EV-1", size="medium", category="ev", has_ev_charger=True)
    make_spot(zone, "ACC-1", size="large", category="accessible", is_accessible=True)
    make_spot(zone, "MC-1", size="small", category="motorcycle")
    return facility


class FakeBookings:
    """An occupancy source standing in for the bookings app (which registers the real one): rows
    live in memory and are turned into an ``Exists`` over the matching spot ids."""

    def __init__(self):
        self.rows = []  # (id, spot_id, start, end, state)

    def add(self, spot, start, end, state="reserved"):
        row_id = len(self.rows) + 1
        self.rows.append((row_id, spot.pk, start, end, state))
        return row_id

    def occupying(self, start, end):
        ids = [spot_id for _, spot_id, s, e, _ in self.rows if s < end and e > start]
        return Exists(Spot.objects.filter(pk=OuterRef("pk"), pk__in=ids))

    def states(self, spot_ids, at):
        return {spot_id: state for _, spot_id, s, e, state in self.rows if spot_id in spot_ids and s <= at < e}

    def overlapping(self, spot_ids, start, end):
        return [
            {"id": str(i), "reference": f"TEST-{i}", "spot": spot_id, "start": s, "end": e, "status": "confirmed"}
            for i, spot_id, s, e, _ in self.rows
            if spot_id in spot_ids and s < end and e > start
        ]


@pytest.fixture
def fake_bookings():
    fake = FakeBookings()
    availability.register_occupancy_source(
        OccupancySource(
            name="test-bookings", occupying=fake.occupying, states=fake.states, overlapping=fake.overlapping
        )
    )
    yield fake
    availability.unregister_occupancy_source("test-bookings")


class TestSearch:
    def test_window_and_vehicle_type_give_exact_counts(self, api_client, garage, window):
        start, end = window

        def count(**params):
            response = api_client.get("/api/v1/facilities/", {"start": _iso(start), "end": _iso(end), **params})
            assert response.status_code == 200, response.json()
            return response.json()["results"][0]["available_spots"]

        assert count() == 6
        assert count(vehicle_type="van") == 1
        assert count(vehicle_type="suv") == 2  # A-2, V-1 (accessible only on request)
        assert count(vehicle_type="standard") == 3  # A-1, A-2, V-1
        assert count(vehicle_type="standard", is_ev="true") == 4
        assert count(vehicle_type="motorcycle") == 4  # A-1, A-2, V-1 (standard category) + MC-1

    def test_filters_and_public_fields(self, api_client, garage, org_a):
        make_facility(org_a, name="Open Lot", city="Oakland", is_covered=False)

        covered = api_client.get("/api/v1/facilities/", {"is_covered": "true"}).json()["results"]
        oakland = api_client.get("/api/v1/facilities/", {"city": "oakland"}).json()["results"]

        assert [f["name"] for f in covered] == ["Garage"]
        assert [f["name"] for f in oakland] == ["Open Lot"]
        assert "is_published" not in covered[0]
        assert covered[0]["distance_km"] is None

    def test_unpublished_facilities_are_not_found(self, api_client, garage):
        garage.is_published = False
        garage.save()

        assert api_client.get("/api/v1/facilities/").json()["count"] == 0

    def test_distance_ordering_and_radius(self, api_client, org_a):
        near = make_facility(org_a, name="Near", latitude=Decimal("37.790000"), longitude=Decimal("-122.400000"))
        far = make_facility(org_a, name="Far", latitude=Decimal("37.830000"), longitude=Decimal("-122.400000"))
        make_facility(org_a, name="Sacramento", latitude=Decimal("38.581600"), longitude=Decimal("-121.494400"))

        response = api_client.get("/api/v1/facilities/", {"lat": "37.789", "lng": "-122.401", "radius_km": "10"})

        results = response.json()["results"]
        assert [f["id"] for f in results] == [near.pk, far.pk]
        assert 0.1 < results[0]["distance_km"] < 0.2
        assert 4.4 < results[1]["distance_km"] < 4.7

    def test_radius_is_bounded(self, api_client):
        response = api_client.get("/api/v1/facilities/", {"lat": "0", "lng": "0", "radius_km": "51"})

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "radius_km"

    @pytest.mark.parametrize(
        ("params", "attr"),
        [
            ({"lat": "10"}, "lng"),
            ({"start": "2030-01-01T10:00:00Z"}, "end"),
            ({"start": "2030-01-01T10:00:00", "end": "2030-01-01T12:00:00Z"}, "start"),
            ({"start": "2030-01-01T12:00:00Z", "end": "2030-01-01T10:00:00Z"}, "end"),
            ({"ordering": "distance"}, "ordering"),
            ({"vehicle_type": "tank"}, "vehicle_type"),
            ({"lat": "95", "lng": "0"}, "lat"),
        ],
    )
    def test_bad_query_is_400_naming_the_parameter(self, api_client, params, attr):
        response = api_client.get("/api/v1/facilities/", params)

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == attr

    def test_closed_facility_offers_no_spots(self, api_client, org_a, window):
        facility = make_facility(
            org_a, name="Closed", operating_hours={"always_open": False, "weekly": {str(d): [] for d in range(7)}}
        )
        make_spot(make_zone(facility), "C-1")
        start, end = window

        result = api_client.get("/api/v1/facilities/", {"start": _iso(start), "end": _iso(end)}).json()["results"][0]

        assert result["available_spots"] == 0

    def test_search_query_count_does_not_grow_with_results(self, api_client, org_a, window):
        start, end = window
        params = {"start": _iso(start), "end": _iso(end), "lat": "37.789", "lng": "-122.401", "radius_km": "20"}
        for n in range(3):
            make_spot(make_zone(make_facility(org_a, name=f"F{n}")), "X")
        with CaptureQueriesContext(connection) as few:
            assert api_client.get("/api/v1/facilities/", params).json()["count"] == 3
        for n in range(3, 20):
            make_spot(make_zone(make_facility(org_a, name=f"F{n}")), "X")
        with CaptureQueriesContext(connection) as many:
            assert api_client.get("/api/v1/facilities/", params).json()["count"] == 20

        assert len(many) == len(few)
        assert len(few) == 4  # count, page (with free-spot counts), pricing rules, fee policies


class TestAvailabilityEndpoints:
    def test_counts_per_zone_and_category(self, api_client, garage, window):
        start, end = window
        make_spot(make_zone(garage, name="Level 2", level=2), "B-1")

        response = api_client.get(
            f"/api/v1/facilities/{garage.pk}/availability/",
            {"start": _iso(start), "end": _iso(end), "vehicle_type": "standard"},
        )

        assert response.status_code == 200
        body = response.json()
        assert body["total_available"] == 4
        assert [(z["name"], z["available"]) for z in body["by_zone"]] == [("Level 1", 3), ("Level 2", 1)]
        assert body["by_category"] == {"standard": 4}

    def test_spots_available_lists_free_spots(self, api_client, garage, window, fake_bookings):
        start, end = window
        a1 = Spot.objects.get(code="A-1")
        fake_bookings.add(a1, start - timedelta(hours=1), start + timedelta(minutes=30))

        response = api_client.get(
            "/api/v1/spots/available/",
            {"facility": garage.pk, "start": _iso(start), "end": _iso(end), "vehicle_type": "standard"},
        )

        assert response.status_code == 200
        assert [s["code"] for s in response.json()["results"]] == ["A-2", "V-1"]

    def test_back_to_back_windows_do_not_conflict(self, api_client, garage, window, fake_bookings):
        start, end = window
        a1 = Spot.objects.get(code="A-1")
        fake_bookings.add(a1, start - timedelta(hours=1), start)

        response = api_client.get(
            "/api/v1/spots/available/",
            {"facility": garage.pk, "start": _iso(start), "end": _iso(end), "vehicle_type": "standard"},
        )

        assert "A-1" in [s["code"] for s in response.json()["results"]]

    def test_needs_ev_and_accessible(self, api_client, garage, window):
        start, end = window
        base = {"facility": garage.pk, "start": _iso(start), "end": _iso(end), "vehicle_type": "standard"}

        ev = api_client.get("/api/v1/spots/available/", {**base, "needs_ev": "true"}).json()["results"]
        accessible = api_client.get("/api/v1/spots/available/", {**base, "needs_accessible": "true"}).json()["results"]

        assert [s["code"] for s in ev] == ["EV-1"]
        assert [s["code"] for s in accessible] == ["ACC-1"]

    @pytest.mark.parametrize(
        ("delta_start", "hours", "attr", "code"),
        [
            (timedelta(days=-1), 2, "start", "invalid_window"),
            (timedelta(days=1), 0.25, "end", "invalid_window"),
            (timedelta(days=1), 24 * 40, "end", "invalid_window"),
        ],
    )
    def test_window_validation_against_facility_policy(self, api_client, garage, delta_start, hours, attr, code):
        start = timezone.now() + delta_start
        end = start + timedelta(hours=hours)

        response = api_client.get(
            f"/api/v1/facilities/{garage.pk}/availability/", {"start": _iso(start), "end": _iso(end)}
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == attr
        assert response.json()["errors"][0]["code"] == code

    def test_closed_window_is_400_facility_closed(self, api_client, org_a, window):
        facility = make_facility(
            org_a, name="Nights off", operating_hours={"always_open": False, "weekly": {str(d): [] for d in range(7)}}
        )
        start, end = window

        response = api_client.get(
            "/api/v1/spots/available/", {"facility": facility.pk, "start": _iso(start), "end": _iso(end)}
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "facility_closed"

    def test_availability_of_unknown_or_unpublished_facility_is_404(self, api_client, garage, window):
        start, end = window
        garage.is_published = False
        garage.save()

        assert (
            api_client.get(
                f"/api/v1/facilities/{garage.pk}/availability/", {"start": _iso(start), "end": _iso(end)}
            ).status_code
            == 404
        )
        assert (
            api_client.get(
                "/api/v1/facilities/999999/availability/", {"start": _iso(start), "end": _iso(end)}
            ).status_code
            == 404
        )


class TestFreshness:
    def test_block_and_status_changes_show_immediately(self, auth_client, owner_a, garage, window):
        start, end = window
        client = auth_client(owner_a)
        url = f"/api/v1/facilities/{garage.pk}/availability/"
        params = {"start": _iso(start), "end": _iso(end)}
        assert client.get(url, params).json()["total_available"] == 6

        client.post(
            "/api/v1/spot-blocks/",
            {"facility": garage.pk, "spot": Spot.objects.get(code="A-1").pk, "start": _iso(start), "end": _iso(end)},
            format="json",
        )
        assert client.get(url, params).json()["total_available"] == 5

        client.post(
            "/api/v1/spots/bulk-status/",
            {"spot_ids": [Spot.objects.get(code="A-2").pk], "status": "maintenance"},
            format="json",
        )
        assert client.get(url, params).json()["total_available"] == 4

    def test_cached_public_detail_changes_after_update(
        self, api_client, auth_client, owner_a, garage, django_capture_on_commit_callbacks
    ):
        assert api_client.get(f"/api/v1/facilities/{garage.pk}/").json()["name"] == "Garage"
        assert api_client.get(f"/api/v1/facilities/{garage.pk}/").json()["name"] == "Garage"  # served from cache

        # The version bump runs after commit, as in production.
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client(owner_a).patch(
                f"/api/v1/facilities/{garage.pk}/", {"name": "Garage Two"}, format="json"
            )
        assert response.status_code == 200

        assert api_client.get(f"/api/v1/facilities/{garage.pk}/").json()["name"] == "Garage Two"

    def test_public_detail_is_cached(self, api_client, garage):
        api_client.get(f"/api/v1/facilities/{garage.pk}/")

        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(f"/api/v1/facilities/{garage.pk}/")

        assert response.status_code == 200
        assert len(queries) == 1  # the visibility lookup; the body came from Redis

    def test_redis_down_degrades_to_database(self, api_client, garage, monkeypatch):
        from django_redis.cache import RedisCache

        from parking import cache as parking_cache

        dead = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2}})
        monkeypatch.setattr(parking_cache, "cache", dead)

        response = api_client.get(f"/api/v1/facilities/{garage.pk}/")

        assert response.status_code == 200
        assert response.json()["name"] == "Garage"


class TestSpotDetail:
    def test_current_status(self, api_client, garage, fake_bookings):
        now = timezone.now()
        a1, a2, v1 = (Spot.objects.get(code=c) for c in ("A-1", "A-2", "V-1"))
        fake_bookings.add(a1, now - timedelta(hours=1), now + timedelta(hours=1))
        fake_bookings.add(a2, now - timedelta(hours=1), now + timedelta(hours=1), state="occupied")
        SpotBlock.objects.create(
            organization_id=v1.organization_id,
            facility_id=v1.facility_id,
            spot=v1,
            start=now - timedelta(minutes=5),
            end=now + timedelta(minutes=5),
            reason="maintenance",
        )

        def status(code):
            spot = Spot.objects.get(code=code)
            return api_client.get(f"/api/v1/spots/{spot.pk}/").json()["current_status"]

        assert status("A-1") == "reserved"
        assert status("A-2") == "occupied"
        assert status("V-1") == "maintenance"
        assert status("EV-1") == "available"

    def test_block_lists_the_bookings_it_overlaps(self, auth_client, owner_a, garage, window, fake_bookings):
        start, end = window
        a1 = Spot.objects.get(code="A-1")
        booking_id = fake_bookings.add(a1, start, end)

        response = auth_client(owner_a).post(
            "/api/v1/spot-blocks/", {"facility": garage.pk, "start": _iso(start), "end": _iso(end)}, format="json"
        )

        assert response.status_code == 201
        assert [(b["reference"], b["spot"]) for b in response.json()["overlapping_bookings"]] == [
            (f"TEST-{booking_id}", a1.pk)
        ]

    def test_spot_with_future_booking_cannot_be_deleted(self, auth_client, owner_a, garage, window, fake_bookings):
        start, end = window
        a1 = Spot.objects.get(code="A-1")
        fake_bookings.add(a1, start, end)

        response = auth_client(owner_a).delete(f"/api/v1/spots/{a1.pk}/")
        zone_response = auth_client(owner_a).delete(f"/api/v1/zones/{a1.zone_id}/")

        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "has_future_bookings"
        assert zone_response.status_code == 409
        assert Spot.objects.filter(facility=garage).count() == 6


class TestListQueryBudgets:
    @pytest.mark.parametrize(
        "url", ["/api/v1/spots/", "/api/v1/zones/", "/api/v1/facilities/?mine=true", "/api/v1/spot-blocks/"]
    )
    def test_list_query_count_is_constant(self, auth_client, owner_a, garage, url):
        client = auth_client(owner_a)
        SpotBlock.objects.create(
            organization_id=garage.organization_id,
            facility=garage,
            start=timezone.now(),
            end=timezone.now() + timedelta(hours=1),
        )
        with CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200
        zone = make_zone(garage, name="Level 9")
        for n in range(15):
            make_spot(zone, f"Q-{n}")
            SpotBlock.objects.create(
                organization_id=garage.organization_id,
                facility=garage,
                start=timezone.now(),
                end=timezone.now() + timedelta(hours=1),
            )
        make_facility(garage.organization, name="Another")
        with CaptureQueriesContext(connection) as large:
            assert client.get(url).status_code == 200

        assert len(large) == len(small)


def test_ordering_by_rating_puts_unrated_last(api_client, org_a):
    from parking.models import Facility

    good = make_facility(org_a, name="Good")
    best = make_facility(org_a, name="Best")
    make_facility(org_a, name="Unrated")
    Facility.objects.filter(pk=good.pk).update(rating_average=Decimal("4.10"), rating_count=12)
    Facility.objects.filter(pk=best.pk).update(rating_average=Decimal("4.80"), rating_count=3)

    results = api_client.get("/api/v1/facilities/", {"ordering": "rating"}).json()["results"]

    assert [f["name"] for f in results] == ["Best", "Good", "Unrated"]
    assert results[0]["rating_average"] == "4.80"
    assert results[2]["rating_count"] == 0
