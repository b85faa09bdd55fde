"""No double booking under real concurrency (separate DB connections), verified with SQL.

A control test disables both guards (the spot lock with its re-check, and the exclusion constraint)
and shows the same harness then *does* double-book, so the passing tests mean something.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.exceptions import SpotUnavailableError
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def _race(requests: list[services.BookingRequest]) -> list[str]:
    barrier = threading.Barrier(len(requests))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(request: services.BookingRequest) -> None:
        try:
            barrier.wait(timeout=30)
            services.booking_create(request)
            result = "booked"
        except SpotUnavailableError:
            result = "conflict"
        except Exception as exc:  # noqa: BLE001 - any other outcome is a failure the test reports
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _drivers(count: int) -> list[tuple]:
    pairs = []
    for n in range(count):
        driver = UserFactory(email=f"racer{n}@example.com")
        pairs.append((driver, VehicleFactory(owner=driver, vehicle_type="standard")))
    return pairs


def _active_overlaps(spot_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.spot_id = b.spot_id AND a.id < b.id
             AND tstzrange(a.start, a."end", '[)') && tstzrange(b.start, b."end", '[)')
            WHERE a.spot_id = %s
              AND a.status IN ('pending_payment', 'confirmed', 'checked_in')
              AND b.status IN ('pending_payment', 'confirmed', 'checked_in')
            """,
            [spot_id],
        )
        return int(cursor.fetchone()[0])


def _count(spot_id: int | None = None) -> int:
    with connection.cursor() as cursor:
        if spot_id is None:
            cursor.execute("SELECT count(*) FROM bookings_booking")
        else:
            cursor.execute("SELECT count(*) FROM bookings_booking WHERE spot_id = %s", [spot_id])
        return int(cursor.fetchone()[0])


def test_fifty_threads_one_spot_overlapping_windows(facility, spot, window):
    start, end = window
    requests = [
        services.BookingRequest(
            driver=driver,
            vehicle=vehicle,
            facility=facility,
            spot=spot,
            start=start + timedelta(minutes=n),
            end=end + timedelta(minutes=n),
        )
        for n, (driver, vehicle) in enumerate(_drivers(50))
    ]

    outcomes = _race(requests)

    assert sorted(outcomes) == ["booked"] + ["conflict"] * 49, [o for o in outcomes if o.startswith("error")]
    assert _count(spot.pk) == 1
    assert _active_overlaps(spot.pk) == 0


def test_facility_requests_spread_over_the_free_spots(facility, zone, window):
    start, end = window
    spots = [make_spot(zone, f"F-{n}") for n in range(4)]
    requests = [
        services.BookingRequest(driver=driver, vehicle=vehicle, facility=facility, start=start, end=end)
        for driver, vehicle in _drivers(10)
    ]

    outcomes = _race(requests)

    assert sorted(outcomes) == ["booked"] * 4 + ["conflict"] * 6, [o for o in outcomes if o.startswith("error")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT spot_id), count(*) FROM bookings_booking")
        assert cursor.fetchone() == (4, 4)
    assert all(_active_overlaps(s.pk) == 0 for s in spots)


def test_control_without_the_guards_the_race_double_books(facility, spot, window, monkeypatch):
    """Disable the lock + re-check and drop the constraint: the same race now double-books."""
    import time

    start, end = window

    def unguarded_claim(request: services.BookingRequest):
        # Check (unlocked), wait so every thread passes the check, then write.
        free = services._still_free(request.spot, request)
        time.sleep(0.3)
        if not free:
            raise SpotUnavailableError()
        return request.spot

    monkeypatch.setattr(services, "_claim_spot", unguarded_claim)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE bookings_booking DROP CONSTRAINT booking_no_overlap")
    try:
        requests = [
            services.BookingRequest(driver=driver, vehicle=vehicle, facility=facility, spot=spot, start=start, end=end)
            for driver, vehicle in _drivers(5)
        ]
        outcomes = _race(requests)
        assert outcomes.count("booked") > 1
        assert _active_overlaps(spot.pk) > 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM bookings_bookingevent")
            cursor.execute("DELETE FROM bookings_outboxmessage")
            cursor.execute("DELETE FROM bookings_booking")
            cursor.execute(
                """ALTER TABLE bookings_booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist
                   (spot_id WITH =, tstzrange(start, "end", '[)') WITH &&)
                   WHERE (status IN ('pending_payment', 'confirmed', 'checked_in'))"""
            )


def test_concurrent_duplicate_requests_with_one_key_create_one_booking(facility, spot, window):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    driver, vehicle = _drivers(1)[0]
    start, end = window
    body = {"vehicle": str(vehicle.pk), "spot": spot.pk, "start": start.isoformat(), "end": end.isoformat()}
    token = str(AccessToken.for_user(driver))
    barrier = threading.Barrier(8)
    responses: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY="same-key-for-all-8")
        try:
            barrier.wait(timeout=10)
            response = client.post("/api/v1/bookings/", body, format="json")
            with lock:
                responses.append((response.status_code, response.json().get("id", "")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in responses] == [201] * 8
    assert len({booking_id for _, booking_id in responses}) == 1
    assert _count(spot.pk) == 1
