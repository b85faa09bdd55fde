"""Build a realistic dataset at scale for the benchmarks (issue #11), with bulk ``INSERT … SELECT``.

python manage.py seed_scale --facilities 500 --spots-per-facility 100 --bookings 1000000 --drivers 100000

Facilities, zones, spots and blocks come from ``bench/dataset.py`` (cities, size/category mix,
maintenance); every facility gets an hourly pricing rule; drivers are inserted in bulk (unusable
passwords); bookings are laid out per spot in consecutive, non-overlapping slots spread over the
past and the next 30 days, with statuses by time (completed, cancelled, no-show and expired in the
past; checked-in now; confirmed and pending payment ahead) and amounts that satisfy the money
constraints. Rerunnable: the previous scale data (organization ``scale``) is removed first.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from bench.dataset import DatasetSize, build, insert_select
from bookings.models import Booking
from pricing.models import PricingRule

SLUG = "scale"
EMAIL = "scale-driver-{}@scale.test"
HOURLY_RATE = 250
WINDOW_DAYS = 30


class Command(BaseCommand):
    help = "Create (or recreate) the scale dataset for bench/: facilities, spots, drivers, bookings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--facilities", type=int, default=500)
        parser.add_argument("--spots-per-facility", type=int, default=100)
        parser.add_argument("--bookings", type=int, default=1_000_000)
        parser.add_argument("--drivers", type=int, default=100_000)
        parser.add_argument("--blocks-per-facility", type=int, default=2)
        parser.add_argument("--seed", type=int, default=1)

    def _step(self, label: str, started: float, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        self.stdout.write(
            f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label} ({time.monotonic() - started:.1f}s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        steps = 6
        with transaction.atomic():
            self._reset()
            self._step("previous scale data removed", started, 1, steps)
            organization = Organization.objects.create(
                name="Scale Parking", slug=SLUG, kind=Organization.Kind.OPERATOR, currency="EUR", country="DE"
            )
            dataset = build(
                organization_id=organization.pk,
                size=DatasetSize(
                    facilities=options["facilities"],
                    spots_per_facility=options["spots_per_facility"],
                    blocks=options["facilities"] * options["blocks_per_facility"],
                ),
                seed=options["seed"],
            )
            self._step(f"{len(dataset.facility_ids)} facilities with zones, spots and blocks", started, 2, steps)
            self._rules(organization)
            self._step("pricing rules", started, 3, steps)
            self._drivers(options["drivers"])
            self._step(f"{options['drivers']} drivers", started, 4, steps)
            self._bookings(organization, options["bookings"], options["drivers"])
            self._step(f"{options['bookings']} bookings", started, 5, steps)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_user, bookings_booking, pricing_pricingrule")
        self._step("analyzed; done", started, 6, steps)

    def _reset(self) -> None:
        organization = Organization.objects.filter(slug=SLUG).first()
        with connection.cursor() as cursor:
            if organization is not None:
                for table in ("bookings_bookingevent", "bookings_outboxmessage"):
                    cursor.execute(
                        f"DELETE FROM {table} WHERE booking_id IN (SELECT id FROM bookings_booking WHERE organization_id = %s)",  # noqa: S608 - fixed table names
                        [organization.pk],
                    )
                for table in (
                    "bookings_booking",
                    "pricing_pricingrule",
                    "parking_spotblock",
                    "parking_spot",
                    "parking_zone",
                    "parking_facility",
                ):
                    cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [organization.pk])  # noqa: S608 - fixed table names
                organization.delete()
            cursor.execute("DELETE FROM accounts_user WHERE email LIKE %s", [EMAIL.format("%")])

    def _rules(self, organization: Organization) -> None:
        with connection.cursor() as cursor:
            insert_select(
                cursor,
                PricingRule,
                {
                    "organization_id": ("%s", [organization.pk]),
                    "facility_id": "f.id",
                    "name": "'Hourly'",
                    "strategy": "'hourly'",
                    "config": ("%s::jsonb", [f'{{"rate": {HOURLY_RATE}, "increment_minutes": 60}}']),
                },
                "FROM parking_facility f WHERE f.organization_id = %s",
                [organization.pk],
            )

    def _drivers(self, count: int) -> None:
        with connection.cursor() as cursor:
            insert_select(
                cursor,
                User,
                {
                    "id": "gen_random_uuid()",
                    "email": "'scale-driver-' || g.n || '@scale.test'",
                    "password": "'!'",
                    "first_name": "'Driver'",
                    "last_name": "g.n::text",
                    "is_verified": "true",
                },
                "FROM generate_series(1, %s) AS g(n)",
                [count],
            )

    def _bookings(self, organization: Organization, count: int, drivers: int) -> None:
        """``count`` bookings over the active spots in round-robin, one slot after another per spot."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM parking_spot WHERE organization_id = %s AND status = 'active'", [organization.pk]
            )
            (spots,) = cursor.fetchone()
        slots_per_spot = max(1, math.ceil(count / max(spots, 1)))
        step_minutes = max(60, (2 * WINDOW_DAYS * 24 * 60) // slots_per_spot)
        duration_minutes = max(30, min(4 * 60, step_minutes - 30))
        first = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=WINDOW_DAYS)
        # Constants, not columns: the spot join must stay an equi-join (a hash join, not 10^10 comparisons).
        start = f"%s::timestamptz + (g.n / {int(spots)}) * %s * interval '1 minute'"
        end = f"{start} + %s * interval '1 minute'"
        now = timezone.now()
        hours = f"({duration_minutes} / 60.0)"
        parking = f"(ceil({hours}) * {HOURLY_RATE})::int"
        service_fee = f"round({parking} * 0.1)::int"
        status = (
            f"CASE WHEN ({end}) <= %s THEN (CASE g.n %% 20 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'no_show' "
            "WHEN 2 THEN 'expired' ELSE 'completed' END) "
            f"WHEN ({start}) <= %s THEN 'checked_in' "
            "WHEN g.n %% 7 = 0 THEN 'pending_payment' ELSE 'confirmed' END"
        )
        start_params = [first, step_minutes]
        end_params = [*start_params, duration_minutes]
        with connection.cursor() as cursor:
            insert_select(
                cursor,
                Booking,
                {
                    "id": "gen_random_uuid()",
                    "reference": "'S' || lpad(to_hex(g.n), 11, '0')",
                    "driver_id": "d.id",
                    "vehicle_type": "'standard'",
                    "organization_id": "sp.organization_id",
                    "facility_id": "sp.facility_id",
                    "zone_id": "sp.zone_id",
                    "spot_id": "sp.id",
                    "start": (start, start_params),
                    "end": (end, end_params),
                    "status": (status, [*end_params, now, *start_params, now]),
                    "checked_in_at": (
                        f"CASE WHEN ({start}) <= %s THEN {start} END",
                        [*start_params, now, *start_params],
                    ),
                    "checked_out_at": (f"CASE WHEN ({end}) <= %s THEN {end} END", [*end_params, now, *end_params]),
                    "hold_expires_at": (f"CASE WHEN g.n %% 7 = 0 THEN ({start}) END", start_params),
                    "quote_snapshot": "'{}'::jsonb",
                    "currency": "'EUR'",
                    "parking_amount": parking,
                    "service_fee": service_fee,
                    "transaction_fee": "50",
                    "total": f"{parking} + {service_fee} + 50",
                    "owner_payout": parking,
                    "platform_revenue": f"{service_fee} + 50",
                },
                "FROM generate_series(0, %s - 1) AS g(n) "
                "JOIN (SELECT s.id, s.zone_id, s.facility_id, s.organization_id, "
                "      (row_number() OVER (ORDER BY s.id)) - 1 AS k "
                "      FROM parking_spot s WHERE s.organization_id = %s AND s.status = 'active') sp "
                "  ON sp.k = g.n %% %s "
                "JOIN (SELECT u.id, (row_number() OVER (ORDER BY u.email)) - 1 AS k FROM accounts_user u "
                "      WHERE u.email LIKE %s) d ON d.k = g.n %% %s",
                [count, organization.pk, spots, EMAIL.format("%"), drivers],
            )
