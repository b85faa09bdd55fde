"""A synthetic but realistic parking inventory, shared by the query-plan tests and the benchmarks.

Facilities are spread over a country (Germany's bounding box): most cluster around big cities, the
rest are scattered; about one in ten is unpublished. Each facility has zones, each zone a run of
spots with a realistic mix of sizes and categories (a few in maintenance), and blocks are scattered
over spot, zone and facility scope in the weeks after :data:`BASE`.

Rows are written with ``INSERT … SELECT`` (``generate_series`` / ``unnest``), never one Python object
per row, so 60 000 spots take about a second. Every column the caller does not set gets the model
field's default (so a new column with a default needs no change here).
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from parking.models import Facility, Spot, SpotBlock, Zone

# A Monday far enough ahead that "now" never interferes; query windows are taken around it.
BASE = datetime(2030, 1, 7, tzinfo=UTC)
BLOCK_HORIZON_HOURS = 24 * 28

COUNTRY_BOX = (47.3, 55.0, 5.9, 15.0)  # min lat, max lat, min lng, max lng
CITIES: tuple[tuple[str, float, float], ...] = (
    ("Berlin", 52.5200, 13.4050),
    ("Hamburg", 53.5511, 9.9937),
    ("Munich", 48.1374, 11.5755),
    ("Cologne", 50.9375, 6.9603),
    ("Frankfurt", 50.1109, 8.6821),
    ("Stuttgart", 48.7758, 9.1829),
    ("Düsseldorf", 51.2277, 6.7735),
    ("Leipzig", 51.3397, 12.3731),
    ("Dortmund", 51.5136, 7.4653),
    ("Essen", 51.4556, 7.0116),
    ("Bremen", 53.0793, 8.8017),
    ("Dresden", 51.0504, 13.7373),
    ("Hanover", 52.3759, 9.7320),
    ("Nuremberg", 49.4521, 11.0767),
    ("Freiburg", 47.9990, 7.8421),
    ("Kiel", 54.3233, 10.1228),
)
CITY_SHARE = 0.7  # share of facilities clustered around a city
CITY_SIGMA_KM = 8.0


@dataclass(frozen=True)
class DatasetSize:
    facilities: int
    spots_per_facility: int
    blocks: int
    zones_per_facility: int = 2
    published_share: float = 0.9


@dataclass(frozen=True)
class Dataset:
    size: DatasetSize
    facility_ids: list[int]  # every facility, in insertion order
    published_ids: list[int]


Override = str | tuple[str, Sequence[Any]]


def _columns(model: type[Model], overrides: dict[str, Override]) -> tuple[list[str], list[str], list[Any]]:
    """Column names, SQL expressions and parameters (in placeholder order) for an INSERT … SELECT.

    ``overrides`` maps a column to an SQL expression over the SELECT's FROM clause, or to
    ``(expression, params)`` when it has placeholders; every other concrete column gets its field
    default as a parameter, ``now()`` for auto timestamps.
    """
    names: list[str] = []
    expressions: list[str] = []
    params: list[Any] = []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in overrides:
            continue  # a serial id: the database numbers it
        column = str(field.column)
        names.append(connection.ops.quote_name(column))
        if column in overrides:
            override = overrides[column]
            if isinstance(override, str):
                expressions.append(override)
            else:
                expressions.append(override[0])
                params.extend(override[1])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("now()")
        else:
            expressions.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    unknown = set(overrides) - {field.column for field in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    return names, expressions, params


def insert_select(
    cursor: CursorWrapper,
    model: type[Model],
    overrides: dict[str, Override],
    tail: str,
    tail_params: Sequence[Any] = (),
) -> None:
    names, expressions, params = _columns(model, overrides)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(names)}) "
        f"SELECT {', '.join(expressions)} {tail}"
    )
    cursor.execute(sql, [*params, *tail_params])


def _points(rng: random.Random, count: int) -> tuple[list[str], list[str]]:
    min_lat, max_lat, min_lng, max_lng = COUNTRY_BOX
    lats, lngs = [], []
    for _ in range(count):
        if rng.random() < CITY_SHARE:
            _, lat, lng = rng.choice(CITIES)
            north, east = rng.gauss(0, CITY_SIGMA_KM), rng.gauss(0, CITY_SIGMA_KM)
            lat += north / 111.195
            lng += east / (111.195 * math.cos(math.radians(lat)))
        else:
            lat, lng = rng.uniform(min_lat, max_lat), rng.uniform(min_lng, max_lng)
        lats.append(f"{lat:.6f}")
        lngs.append(f"{lng:.6f}")
    return lats, lngs


def build(*, organization_id: Any, size: DatasetSize, seed: int = 1) -> Dataset:
    """Insert the inventory for ``organization_id`` on the default connection (in the caller's
    transaction, if any). Deterministic for a given ``seed``."""
    rng = random.Random(seed)
    lats, lngs = _points(rng, size.facilities)
    published = [rng.random() < size.published_share for _ in range(size.facilities)]
    spots_per_zone = math.ceil(size.spots_per_facility / size.zones_per_facility)

    with connection.cursor() as cursor:
        # Facilities: one row per element of the coordinate arrays, names and slugs from the ordinal.
        cursor.execute("SELECT coalesce(max(id), 0) FROM parking_facility")
        (before,) = cursor.fetchone()
        insert_select(
            cursor,
            Facility,
            {
                "organization_id": ("%s", [organization_id]),
                "name": "'Bench facility ' || p.n",
                "slug": ("'bench-' || %s || '-' || p.n", [seed]),
                "address_line": "p.n || ' Bench Street'",
                "city": "'Benchtown'",
                "country": "'DE'",
                "latitude": "p.lat",
                "longitude": "p.lng",
                "timezone": "'Europe/Berlin'",
                "currency": "'EUR'",
                "is_published": "p.published",
                "has_ev_charging": "p.n %% 3 = 0",
                "is_covered": "p.n %% 2 = 0",
            },
            "FROM unnest(%s::numeric[], %s::numeric[], %s::boolean[]) WITH ORDINALITY AS p(lat, lng, published, n) "
            "ORDER BY p.n",
            [lats, lngs, published],
        )
        cursor.execute("SELECT id, is_published FROM parking_facility WHERE id > %s ORDER BY id", [before])
        rows = cursor.fetchall()
        facility_ids = [row[0] for row in rows]
        published_ids = [row[0] for row in rows if row[1]]

        insert_select(
            cursor,
            Zone,
            {
                "facility_id": "f.id",
                "organization_id": "f.organization_id",
                "name": "'Level ' || z.n",
                "level": "z.n",
                "display_order": "z.n",
            },
            "FROM parking_facility f CROSS JOIN generate_series(0, %s - 1) AS z(n) WHERE f.id > %s",
            [size.zones_per_facility, before],
        )
        # Spots: a realistic mix by position in the zone (1 in 10 EV with charger, 1 in 20 accessible,
        # 1 in 20 motorcycle, some large / xlarge, 1 in 50 in maintenance), codes "L<level>-<nnn>".
        insert_select(
            cursor,
            Spot,
            {
                "zone_id": "z.id",
                "facility_id": "z.facility_id",
                "organization_id": "z.organization_id",
                "code": "'L' || z.level || '-' || lpad(s.n::text, 3, '0')",
                "size": (
                    "CASE WHEN s.n %% 20 = 2 THEN 'small' WHEN s.n %% 20 IN (3, 13) THEN 'large' "
                    "WHEN s.n %% 20 IN (1, 7) THEN 'xlarge' ELSE 'medium' END"
                ),
                "category": (
                    "CASE WHEN s.n %% 10 = 0 THEN 'ev' WHEN s.n %% 20 = 1 THEN 'accessible' "
                    "WHEN s.n %% 20 = 2 THEN 'motorcycle' WHEN s.n %% 20 = 7 THEN 'vip' ELSE 'standard' END"
                ),
                "has_ev_charger": "s.n %% 10 = 0",
                "ev_charger_status": "CASE WHEN s.n %% 10 = 0 THEN 'available' ELSE '' END",
                "is_accessible": "s.n %% 20 = 1",
                "status": "CASE WHEN s.n %% 50 = 49 THEN 'maintenance' ELSE 'active' END",
            },
            "FROM parking_zone z JOIN parking_facility f ON f.id = z.facility_id "
            "CROSS JOIN generate_series(1, %s) AS s(n) WHERE f.id > %s",
            [spots_per_zone, before],
        )
        # Blocks: half on one spot, 30 % on a zone, 20 % on the whole facility, 1–48 h long.
        block_facility, block_zone_level, block_spot_code, scope, starts, ends = [], [], [], [], [], []
        for _ in range(size.blocks):
            block_facility.append(rng.choice(facility_ids))
            level = rng.randrange(size.zones_per_facility)
            block_zone_level.append(level)
            block_spot_code.append(f"L{level}-{rng.randint(1, spots_per_zone):03d}")
            roll = rng.random()
            scope.append("spot" if roll < 0.5 else "zone" if roll < 0.8 else "facility")
            start_hour = rng.randrange(BLOCK_HORIZON_HOURS)
            starts.append(start_hour)
            ends.append(start_hour + rng.randint(1, 48))
        insert_select(
            cursor,
            SpotBlock,
            {
                "organization_id": "f.organization_id",
                "facility_id": "f.id",
                "zone_id": "CASE WHEN b.scope <> 'facility' THEN z.id END",
                "spot_id": "CASE WHEN b.scope = 'spot' THEN s.id END",
                "start": ("%s::timestamptz + b.start_hour * interval '1 hour'", [BASE]),
                "end": ("%s::timestamptz + b.end_hour * interval '1 hour'", [BASE]),
                "reason": "'maintenance'",
            },
            "FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::int[], %s::int[]) "
            "AS b(facility_id, level, code, scope, start_hour, end_hour) "
            "JOIN parking_facility f ON f.id = b.facility_id "
            "JOIN parking_zone z ON z.facility_id = f.id AND z.level = b.level "
            "JOIN parking_spot s ON s.facility_id = f.id AND s.code = b.code",
            [block_facility, block_zone_level, block_spot_code, scope, starts, ends],
        )
        cursor.execute("ANALYZE parking_facility, parking_zone, parking_spot, parking_spotblock")
    return Dataset(size=size, facility_ids=facility_ids, published_ids=published_ids)
