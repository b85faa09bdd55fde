"""HTTP load runner (issue #11): a production-like server (gunicorn, N workers, no debug, throttles
lifted) on the scale dataset (``manage.py seed_scale``), hit by 1, 16 and 64 concurrent clients.

    DATABASE_URL=postgres://…/parking_scale REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/http_load.py --seconds 10 --clients 1,16,64

For each scenario and concurrency: requests/s, p50/p95/p99 (ms, measured at the client over
loopback) and unexpected answers (expected: 2xx, and 409 for the contended booking). After the
contended run the database is checked for double bookings with SQL. Writes JSON and a Markdown table
(``bench/results/http_load.{json,md}``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings.test")
LIFTED = {"THROTTLE_ANON": "100000000/hour", "THROTTLE_USER": "100000000/hour", "THROTTLE_GATE": "100000000/hour"}
os.environ.update(LIFTED)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    unexpected: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _run(
    call: Callable[[requests.Session, int], requests.Response], clients: int, seconds: float, ok: set[int]
) -> Result:
    result = Result()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        session = requests.Session()
        n = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = call(session, index * 1_000_000 + n)
            elapsed = (time.perf_counter() - started) * 1000
            n += 1
            with lock:
                result.latencies.append(elapsed)
                result.statuses[response.status_code] = result.statuses.get(response.status_code, 0) + 1
                if response.status_code not in ok:
                    result.unexpected += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def _prepare(base: datetime) -> dict[str, Any]:
    """A driver with a car and a token, an owner token, a gate key and a bookable facility."""
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Membership, Organization, Role, User
    from bookings import services as booking_services
    from gates import services as gate_services
    from parking.models import Facility, Spot
    from vehicles.models import Vehicle

    organization = Organization.objects.get(slug="scale")
    owner, _ = User.objects.get_or_create(email="scale-owner@scale.test", defaults={"is_verified": True})
    Membership.objects.get_or_create(user=owner, organization=organization, defaults={"role": Role.OWNER})
    driver = User.objects.filter(email__endswith="@scale.test").exclude(pk=owner.pk).order_by("email").first()
    assert driver is not None, "run manage.py seed_scale first"
    vehicle = Vehicle.objects.filter(owner=driver).first()
    if vehicle is None:
        from vehicles.services import vehicle_create

        vehicle = vehicle_create(owner=driver, plate=f"BSC{random.randint(1000, 9999)}", vehicle_type="standard")
    facilities = list(
        Facility.objects.filter(organization=organization, is_published=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    facility = Facility.objects.get(pk=facilities[0])
    gate, key = gate_services.gate_create(
        facility=facility, data={"name": f"Bench {uuid.uuid4().hex[:6]}"}, actor=owner
    )
    now = datetime.now(UTC)
    spot = Spot.objects.filter(facility=facility, status="active", size="medium", category="standard").last()
    # A fresh window on each run (earlier runs left their bookings).
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=45, hours=3 * random.randrange(2000))
    current = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver, vehicle=vehicle, facility=facility, spot=spot, start=start, end=start + timedelta(hours=2)
        )
    )
    contended_spot = Spot.objects.filter(
        facility_id=facilities[1], status="active", size="medium", category="standard"
    ).first()
    return {
        "driver": str(AccessToken.for_user(driver)),
        "owner": str(AccessToken.for_user(owner)),
        "vehicle": str(vehicle.pk),
        "gate_key": key,
        "facilities": facilities,
        "reference": current.reference,
        "contended_spot": contended_spot.pk if contended_spot else None,
        "base": base,
    }


def _scenarios(
    url: str, ctx: dict[str, Any]
) -> dict[str, tuple[Callable[[requests.Session, int], requests.Response], set[int]]]:
    driver = {"Authorization": f"Bearer {ctx['driver']}"}
    owner = {"Authorization": f"Bearer {ctx['owner']}"}
    gate = {"Authorization": f"Gate {ctx['gate_key']}"}
    base: datetime = ctx["base"]
    facilities: list[int] = ctx["facilities"]

    def window(n: int, hours: int = 2) -> tuple[str, str]:
        start = base + timedelta(hours=(n % 500) * 3)
        return start.isoformat(), (start + timedelta(hours=hours)).isoformat()

    def search(s: requests.Session, n: int) -> requests.Response:
        start, end = window(n)
        lat, lng = random.choice([(52.52, 13.405), (48.137, 11.575), (50.11, 8.682), (53.551, 9.993)])
        return s.get(
            f"{url}/api/v1/facilities/", params={"lat": lat, "lng": lng, "radius_km": 5, "start": start, "end": end}
        )

    def availability(s: requests.Session, n: int) -> requests.Response:
        start, end = window(n)
        return s.get(
            f"{url}/api/v1/facilities/{facilities[n % len(facilities)]}/availability/",
            params={"start": start, "end": end},
        )

    def quote(s: requests.Session, n: int) -> requests.Response:
        start, end = window(n)
        body = {"facility": facilities[n % len(facilities)], "vehicle_type": "standard", "start": start, "end": end}
        return s.post(f"{url}/api/v1/pricing/quote/", json=body)

    def book(s: requests.Session, n: int) -> requests.Response:
        start = base + timedelta(days=10 + (n % 40), hours=(n // 40) % 20)
        body = {
            "facility": facilities[(n * 7) % len(facilities)],
            "vehicle": ctx["vehicle"],
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        }
        return s.post(f"{url}/api/v1/bookings/", json=body, headers={**driver, "Idempotency-Key": uuid.uuid4().hex})

    def contended(s: requests.Session, n: int) -> requests.Response:
        start = base + timedelta(days=80, hours=(n // 1_000_000) % 3)  # 3 windows on one spot: few winners
        body = {
            "spot": ctx["contended_spot"],
            "facility": facilities[1],
            "vehicle": ctx["vehicle"],
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        }
        return s.post(f"{url}/api/v1/bookings/", json=body, headers={**driver, "Idempotency-Key": uuid.uuid4().hex})

    def gate_decision(s: requests.Session, n: int) -> requests.Response:
        body = {
            "event_id": f"bench-{uuid.uuid4().hex}",
            "occurred_at": datetime.now(UTC).isoformat(),
            "booking_reference": ctx["reference"],
        }
        return s.post(f"{url}/api/v1/gates/check-in/", json=body, headers=gate)

    def driver_list(s: requests.Session, n: int) -> requests.Response:
        return s.get(f"{url}/api/v1/bookings/", params={"scope": "driver"}, headers=driver)

    def operator_list(s: requests.Session, n: int) -> requests.Response:
        return s.get(
            f"{url}/api/v1/bookings/",
            params={"scope": "organization", "facility": facilities[n % len(facilities)]},
            headers=owner,
        )

    return {
        "facility search (5 km, window)": (search, {200}),
        "facility availability": (availability, {200}),
        "quote": (quote, {200, 201}),
        "booking create (uncontended)": (book, {201, 409}),
        "booking create (contended)": (contended, {201, 409}),
        "gate decision (check-in)": (gate_decision, {200}),
        "booking list (driver)": (driver_list, {200}),
        "booking list (operator)": (operator_list, {200}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--results", default=str(ROOT / "bench" / "results" / "http_load"))
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    ctx = _prepare(
        datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=200 + random.randrange(300))
    )
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "app.wsgi",
            "-b",
            f"127.0.0.1:{args.port}",
            "-w",
            str(args.workers),
            "--no-control-socket",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **LIFTED},
    )
    try:
        for _ in range(100):
            try:
                if requests.get(f"{url}/health/", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        rows = []
        for name, (call, ok) in _scenarios(url, ctx).items():
            for clients in [int(c) for c in args.clients.split(",")]:
                result = _run(call, clients, args.seconds, ok)
                rows.append(
                    {
                        "scenario": name,
                        "clients": clients,
                        "requests": len(result.latencies),
                        "rps": round(len(result.latencies) / args.seconds, 1),
                        "p50_ms": round(_percentile(result.latencies, 0.50), 1),
                        "p95_ms": round(_percentile(result.latencies, 0.95), 1),
                        "p99_ms": round(_percentile(result.latencies, 0.99), 1),
                        "mean_ms": round(statistics.fmean(result.latencies), 1) if result.latencies else 0,
                        "unexpected": result.unexpected,
                        "statuses": result.statuses,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM bookings_booking a JOIN bookings_booking b ON a.spot_id = b.spot_id AND a.id < b.id
               AND tstzrange(a.start, a."end") && tstzrange(b.start, b."end")
               WHERE a.status IN ('pending_payment','confirmed','checked_in') AND b.status IN ('pending_payment','confirmed','checked_in')"""
        )
        (double_bookings,) = cursor.fetchone()
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gunicorn_workers": args.workers,
    }
    report = {"machine": machine, "seconds_per_run": args.seconds, "double_bookings": double_bookings, "rows": rows}
    Path(args.results + ".json").write_text(json.dumps(report, indent=2))
    lines = [
        f"# HTTP load ({datetime.now(UTC):%Y-%m-%d}, {machine['cpus']} CPUs, gunicorn × {args.workers}, {args.seconds:.0f} s per run)",
        "",
        "Client-side latency over loopback; server and clients share the machine.",
        "",
        "| scenario | clients | req/s | p50 ms | p95 ms | p99 ms | unexpected |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r['scenario']} | {r['clients']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['unexpected']} |"
            for r in rows
        ],
        "",
        f"Double bookings after the runs (SQL): **{double_bookings}**.",
    ]
    Path(args.results + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
