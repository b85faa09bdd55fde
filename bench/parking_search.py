"""Benchmark: public facility search and spot availability on a country-sized inventory.

    DJANGO_SETTINGS_MODULE=app.settings.test .venv/bin/python bench/parking_search.py \\
        --facilities 20000 --spots-per-facility 30

Builds the data set (bench/dataset.py) in a dedicated database, ``parking_bench``, created on the
server of DATABASE_URL and dropped at the end (``--keep`` keeps it). No other database is touched.
Each query runs ``--iterations`` times with seeded random parameters, sequentially on one connection,
after a warm-up; the script prints p50/p95/p99 latencies and one EXPLAIN (ANALYZE, BUFFERS) per query,
and writes bench/results/parking_search.md.
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "parking_bench"  # the only database this script creates or drops
RESULTS = ROOT / "bench" / "results" / "parking_search.md"
WARMUP = 10
PAGE_SIZE = 20  # what the public search endpoint returns per page
NEAREST_FIRST = ("distance_km", "pk")  # the endpoint's ordering=distance (distance_km is an annotation)


def _server_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def recreate_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


@dataclass
class Result:
    name: str
    description: str
    total_ms: list[float]  # selector call: build + compile + round trip + fetch + model instances
    db_ms: list[float]  # the same SQL, executed and fetched with a bare cursor
    rows: list[int]
    plan: str
    indexes: list[str]


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if values else float("nan")


def _plan_indexes(plan_json: Any) -> list[str]:
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            label = f"{node['Index Name']} ({node['Node Type']})"
            if label not in found:
                found.append(label)
        if node["Node Type"] == "Seq Scan":
            label = f"Seq Scan on {node['Relation Name']}"
            if label not in found:
                found.append(label)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan_json[0]["Plan"])
    return found


def run(
    name: str, description: str, iterations: int, make: Callable[[random.Random], Callable[[], Any]], seed: int
) -> Result:
    """``make(rng)`` draws parameters and returns a function building the queryset; time building and
    evaluating it ``iterations`` times (after a warm-up), then its bare SQL; explain one instance."""
    from django.db import connection

    rng = random.Random(seed)
    for _ in range(WARMUP):
        len(make(rng)())
    total, db, rows = [], [], []
    with connection.cursor() as cursor:
        for _ in range(iterations):
            build = make(rng)
            started = time.perf_counter()
            queryset = build()
            rows.append(len(queryset))
            total.append((time.perf_counter() - started) * 1000)
            sql, params = queryset.query.sql_with_params()
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            db.append((time.perf_counter() - started) * 1000)
    sample = make(random.Random(seed))()
    plan_text = sample.explain(analyze=True, buffers=True)
    plan_json = json.loads(sample.explain(format="json"))
    return Result(name, description, total, db, rows, plan_text, _plan_indexes(plan_json))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facilities", type=int, default=20000)
    parser.add_argument("--spots-per-facility", type=int, default=30)
    parser.add_argument("--blocks", type=int, default=None, help="default: 2 per facility")
    parser.add_argument("--iterations", type=int, default=200, help="timed runs per query (max 5000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DATABASE} database afterwards")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not 2 <= args.iterations <= 5000:
        parser.error("--iterations must be between 2 and 5000")
    if not 1 <= args.facilities <= 200_000 or not 1 <= args.spots_per_facility <= 500:
        parser.error("--facilities must be 1–200000 and --spots-per-facility 1–500")

    url = os.environ.get("DATABASE_URL")
    if not url:
        print("Set DATABASE_URL to a PostgreSQL server (its database is not touched).", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings.test")

    print(f"creating database {BENCH_DATABASE} …", flush=True)
    recreate_database(url)
    os.environ["DATABASE_URL"] = _server_url(url, BENCH_DATABASE)
    try:
        return _bench(args)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"kept database {BENCH_DATABASE}")
        else:
            drop_database(url)
            print(f"dropped database {BENCH_DATABASE}")


def _bench(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Organization
    from bench.dataset import BASE, BLOCK_HORIZON_HOURS, CITIES, DatasetSize, build
    from parking.availability import SpotRequirements
    from parking.models import Facility, Spot, SpotBlock
    from parking.selectors import SearchParams, facility_availability, facility_search, spots_available

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started

    size = DatasetSize(
        facilities=args.facilities,
        spots_per_facility=args.spots_per_facility,
        blocks=args.blocks if args.blocks is not None else 2 * args.facilities,
    )
    organization = Organization.objects.create(name="Bench", slug="bench", currency="EUR", country="DE")
    started = time.perf_counter()
    dataset = build(organization_id=organization.pk, size=size, seed=args.seed)
    build_s = time.perf_counter() - started
    counts = {
        "facilities": Facility.objects.count(),
        "published": len(dataset.published_ids),
        "spots": Spot.objects.count(),
        "blocks": SpotBlock.objects.count(),
    }
    print(f"migrated in {migrate_s:.1f} s; built {counts} in {build_s:.1f} s", flush=True)

    def near_city(rng: random.Random) -> tuple[float, float]:
        _, lat, lng = rng.choice(CITIES)
        return lat + rng.uniform(-0.05, 0.05), lng + rng.uniform(-0.08, 0.08)

    def window(rng: random.Random) -> tuple[datetime, datetime]:
        start = BASE + timedelta(hours=rng.randrange(BLOCK_HORIZON_HOURS - 24))
        return start, start + timedelta(hours=rng.randint(2, 10))

    def search(radius_km: float, with_window: bool) -> Callable[[random.Random], Callable[[], Any]]:
        def make(rng: random.Random) -> Callable[[], Any]:
            lat, lng = near_city(rng)
            extra: dict[str, Any] = {}
            if with_window:
                start, end = window(rng)
                extra = {"start": start, "end": end, "requirements": SpotRequirements(vehicle_type="standard")}
            params = SearchParams(lat=lat, lng=lng, radius_km=radius_km, **extra)
            # The API's page: nearest first, one page.
            return lambda: facility_search(params).order_by(*NEAREST_FIRST)[:PAGE_SIZE]

        return make

    published = dataset.published_ids

    def facility_window(rng: random.Random) -> tuple[Facility, datetime, datetime]:
        facility = Facility.objects.get(pk=rng.choice(published))  # fetched before the clock starts
        start, end = window(rng)
        return facility, start, end

    def available(rng: random.Random) -> Callable[[], Any]:
        facility, start, end = facility_window(rng)
        requirements = SpotRequirements(vehicle_type="standard")
        return lambda: spots_available(start=start, end=end, requirements=requirements, facility=facility)

    results: list[Result] = []
    queries = [
        ("search 5 km", "20 nearest published facilities within 5 km of a point near a city", search(5, False)),
        ("search 25 km", "… within 25 km", search(25, False)),
        ("search 50 km (max)", "… within 50 km", search(50, False)),
        (
            "search 5 km + window",
            "… within 5 km, with free-spot counts for a 2–10 h window (standard car)",
            search(5, True),
        ),
        ("search 25 km + window", "… within 25 km, with free-spot counts", search(25, True)),
        ("search 50 km + window", "… within 50 km, with free-spot counts", search(50, True)),
        ("spots_available", "free spots of one facility for a 2–10 h window (standard car)", available),
    ]
    for index, (name, description, make) in enumerate(queries):
        print(f"running {name} × {args.iterations} …", flush=True)
        results.append(run(name, description, args.iterations, make, seed=args.seed * 1000 + index))

    # facility_availability is two queries and returns a summary, not a QuerySet: timed as a whole.
    rng = random.Random(args.seed * 1000 + 99)
    timings, rows = [], []
    for iteration in range(WARMUP + args.iterations):
        facility, start, end = facility_window(rng)
        began = time.perf_counter()
        summary = facility_availability(
            facility=facility, start=start, end=end, requirements=SpotRequirements(vehicle_type="standard")
        )
        if iteration >= WARMUP:
            timings.append((time.perf_counter() - began) * 1000)
            rows.append(summary.total_available)
    results.append(
        Result(
            "facility_availability",
            "per-zone / per-category free counts of one facility (the spots_available query + a zone query)",
            timings,
            [],
            rows,
            "",
            [],
        )
    )

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()

    print()
    header = (
        f"{'query':<24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f" {'db p50':>8} {'db p95':>8} {'db p99':>8} {'rows':>6}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        print(
            f"{result.name:<24} {percentile(result.total_ms, 50):>8.2f} {percentile(result.total_ms, 95):>8.2f}"
            f" {percentile(result.total_ms, 99):>8.2f} {max(result.total_ms):>8.2f}"
            + "".join(f" {percentile(result.db_ms, p):>8.2f}" if result.db_ms else f" {'-':>8}" for p in (50, 95, 99))
            + f" {statistics.mean(result.rows):>6.1f}"
        )
    for result in results:
        if result.plan:
            print(f"\n=== {result.name}: {', '.join(result.indexes)}\n{result.plan}")

    _write_markdown(args, results, counts, size, build_s, server_version)
    print(f"\nwrote {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    return 0


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _write_markdown(
    args: argparse.Namespace,
    results: list[Result],
    counts: dict[str, int],
    size: Any,
    build_s: float,
    server_version: str,
) -> None:
    lines = [
        "# Parking search benchmark",
        "",
        f"Generated by `bench/parking_search.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit "
        f"`{_git_commit()}` (plus uncommitted changes, if any), PostgreSQL {server_version}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        f"Data set: {counts['facilities']:,} facilities ({counts['published']:,} published) over Germany, "
        f"{size.zones_per_facility} zones each, {counts['spots']:,} spots, {counts['blocks']:,} blocks; "
        f"built in {build_s:.1f} s. Seed {args.seed}.",
        "",
        f"Each query ran {args.iterations} times (after {WARMUP} warm-up runs) with random points near 16 "
        "city centres and random windows, sequentially on one connection. **total** is the selector call "
        "as the API makes it (queryset built, compiled, executed, rows fetched and turned into model "
        "instances); **db** is the same SQL run and fetched with a bare cursor (round trip + PostgreSQL).",
        "",
        "| query | what | p50 ms | p95 ms | p99 ms | db p50 | db p95 | db p99 | rows (mean) | indexes used |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        db = [f"{percentile(result.db_ms, p):.2f}" if result.db_ms else "—" for p in (50, 95, 99)]
        lines.append(
            f"| {result.name} | {result.description} | {percentile(result.total_ms, 50):.2f} "
            f"| {percentile(result.total_ms, 95):.2f} | {percentile(result.total_ms, 99):.2f} | {' | '.join(db)} "
            f"| {statistics.mean(result.rows):.1f} | {'<br>'.join(result.indexes) or '—'} |"
        )
    lines += ["", "## Plans (EXPLAIN ANALYZE, BUFFERS) for one instance of each query", ""]
    for result in results:
        if result.plan:
            lines += [f"<details><summary>{result.name}</summary>", "", "```", result.plan, "```", "", "</details>", ""]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
