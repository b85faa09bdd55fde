"""No double booking through HTTP: several client processes against a live multi-process server.

A real gunicorn (3 worker processes × 4 threads, each with its own database connections) serves the
test database; separate client processes fire at the same instant. The result is checked with SQL.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

CLIENT = Path(__file__).parent / "support" / "race_client.py"
CLIENT_PROCESSES = 6
REQUESTS_PER_PROCESS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict  # the test database (its name carries the xdist suffix)
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def live_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock():
        database_url = _database_url()
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "app.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "THROTTLE_USER": "100000/hour",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "app.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "3", "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
        env=env,
        cwd=settings.BASE_DIR,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the gunicorn test server did not start")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _fire(url: str, jobs: list[dict]) -> list[dict]:
    """Split ``jobs`` over CLIENT_PROCESSES processes that all start sending at the same instant."""
    start_at = time.time() + 3  # every process is up and waiting by then
    chunks = [jobs[n::CLIENT_PROCESSES] for n in range(CLIENT_PROCESSES)]
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, str(CLIENT), "--url", url, "--start-at", str(start_at)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in chunks
    ]
    for process, chunk in zip(processes, chunks, strict=True):
        assert process.stdin is not None
        process.stdin.write(json.dumps(chunk))
        process.stdin.close()
    results = []
    for process in processes:
        assert process.stdout is not None
        results += [json.loads(line) for line in process.stdout.read().splitlines()]
        assert process.wait(timeout=120) == 0
    return results


def _jobs(count: int, body_for) -> list[dict]:
    jobs = []
    for n in range(count):
        driver = UserFactory(email=f"http-racer{n}@example.com")
        vehicle = VehicleFactory(owner=driver, vehicle_type="standard")
        jobs.append({"token": str(AccessToken.for_user(driver)), "body": body_for(n, vehicle)})
    return jobs


def _sql(query: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _codes(results: list[dict]) -> list[str]:
    return sorted(
        "booked" if r["status"] == 201 else f"{r['status']} {r['body'].get('errors', [{}])[0].get('code')}"
        for r in results
    )


def test_one_spot_overlapping_windows_from_several_processes(live_url, facility, spot, window):
    start, end = window
    total = CLIENT_PROCESSES * REQUESTS_PER_PROCESS
    jobs = _jobs(
        total,
        lambda n, vehicle: {
            "vehicle": str(vehicle.pk),
            "spot": spot.pk,
            "start": (start + timedelta(minutes=n)).isoformat(),
            "end": (end + timedelta(minutes=n)).isoformat(),
        },
    )

    results = _fire(f"{live_url}/api/v1/bookings/", jobs)

    assert _codes(results) == ["409 spot_unavailable"] * (total - 1) + ["booked"]
    [(count,)] = _sql("SELECT count(*) FROM bookings_booking WHERE spot_id = %s", [spot.pk])
    assert count == 1
    [(overlaps,)] = _sql(
        """SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
             ON a.spot_id = b.spot_id AND a.id < b.id
            AND tstzrange(a.start, a."end", '[)') && tstzrange(b.start, b."end", '[)')
           WHERE a.spot_id = %s""",
        [spot.pk],
    )
    assert overlaps == 0


def test_facility_requests_take_exactly_the_free_spots(live_url, facility, zone, spot, window):
    free_spots = [spot, make_spot(zone, "A-2"), make_spot(zone, "A-3")]
    start, end = window
    total = CLIENT_PROCESSES * REQUESTS_PER_PROCESS
    jobs = _jobs(
        total,
        lambda n, vehicle: {
            "vehicle": str(vehicle.pk),
            "facility": facility.pk,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )

    results = _fire(f"{live_url}/api/v1/bookings/", jobs)

    assert _codes(results) == ["409 spot_unavailable"] * (total - 3) + ["booked"] * 3
    booked_spots = {r["body"]["spot"] for r in results if r["status"] == 201}
    rows = _sql("SELECT spot_id FROM bookings_booking WHERE facility_id = %s ORDER BY spot_id", [facility.pk])
    assert [spot_id for (spot_id,) in rows] == sorted(s.pk for s in free_spots)
    assert len(booked_spots) == 3
