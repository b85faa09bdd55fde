"""What the back-office dashboard and the facility map show, scoped like the admin: a platform
admin sees everything (``organization_ids=None``), staff their organizations only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, IssueReport
from enforcement.models import RESOLVED_STATUSES, Dispute, DisputeStatus, Violation
from gates.models import Gate, GateAlert, ManualReview, ReviewStatus
from parking.models import Facility, Spot, Zone
from parking.selectors import spot_live_states
from payments.models import Payment, PaymentAlert, PaymentStatus, ReconciliationMismatch, Refund, RefundStatus

STATES = ("available", "reserved", "occupied", "maintenance")


def _scoped(queryset: QuerySet[Any], organization_ids: Any, field_name: str = "organization_id") -> QuerySet[Any]:
    return queryset if organization_ids is None else queryset.filter(**{f"{field_name}__in": organization_ids})


@dataclass
class OccupancyRow:
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    zones: list[OccupancyRow] = field(default_factory=list)
    facility_id: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def occupancy(*, organization_ids: Any, at: datetime) -> list[OccupancyRow]:
    spots = list(
        _scoped(Spot.objects.select_related("zone", "facility"), organization_ids).order_by(
            "facility__name", "zone__display_order", "zone__name"
        )
    )
    states = spot_live_states(spots=spots, at=at)
    facilities: dict[int, OccupancyRow] = {}
    zones: dict[int, OccupancyRow] = {}
    for spot in spots:
        row = facilities.setdefault(
            spot.facility_id, OccupancyRow(name=spot.facility.name, facility_id=spot.facility_id)
        )
        if spot.zone_id not in zones:
            zones[spot.zone_id] = OccupancyRow(name=spot.zone.name)
            row.zones.append(zones[spot.zone_id])
        row.counts[states[spot.pk]] += 1
        zones[spot.zone_id].counts[states[spot.pk]] += 1
    return list(facilities.values())


@dataclass(frozen=True)
class Attention:
    entries_today: int
    exits_today: int
    open_violations: int
    open_disputes: int
    failed_payments_24h: int
    mismatches: int
    manual_reviews: int
    open_gate_alerts: int
    unhandled_issue_reports: int


def attention(*, organization_ids: Any, now: datetime) -> Attention:
    today = timezone.localdate(now)
    bookings = _scoped(Booking.objects.all(), organization_ids)
    return Attention(
        entries_today=bookings.filter(checked_in_at__date=today).count(),
        exits_today=bookings.filter(checked_out_at__date=today).count(),
        open_violations=_scoped(Violation.objects.exclude(status__in=RESOLVED_STATUSES), organization_ids).count(),
        open_disputes=_scoped(
            Dispute.objects.filter(status=DisputeStatus.OPEN), organization_ids, "violation__organization_id"
        ).count(),
        failed_payments_24h=_scoped(
            Payment.objects.filter(status=PaymentStatus.FAILED, updated_at__gte=now - timedelta(hours=24)),
            organization_ids,
        ).count(),
        mismatches=_scoped(
            ReconciliationMismatch.objects.filter(resolved_at__isnull=True),
            organization_ids,
            "payment__organization_id",
        ).count(),
        manual_reviews=_scoped(
            ManualReview.objects.filter(status=ReviewStatus.PENDING), organization_ids, "event__organization_id"
        ).count(),
        open_gate_alerts=_scoped(
            GateAlert.objects.filter(ended_at__isnull=True), organization_ids, "gate__organization_id"
        ).count(),
        unhandled_issue_reports=_scoped(IssueReport.objects.filter(handled_at__isnull=True), organization_ids).count(),
    )


def payment_alerts(*, organization_ids: Any) -> list[PaymentAlert]:
    return list(
        _scoped(PaymentAlert.objects.filter(closed_at__isnull=True), organization_ids).order_by("-opened_at")[:20]
    )


def gates(*, organization_ids: Any) -> list[Gate]:
    return list(_scoped(Gate.objects.select_related("facility"), organization_ids).order_by("facility__name", "name"))


@dataclass(frozen=True)
class RevenueDay:
    day: date
    gross: int
    fees: int
    refunds: int

    @property
    def net(self) -> int:
        return self.gross - self.refunds


def revenue_by_day(*, organization_ids: Any, now: datetime, days: int = 7) -> tuple[str, list[RevenueDay]]:
    """Last ``days`` days (server time zone) for the scope's most used currency, minor units."""
    first = timezone.localdate(now) - timedelta(days=days - 1)
    payments = _scoped(
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED, succeeded_at__date__gte=first), organization_ids
    )
    currency = (
        payments.values("currency").annotate(n=Count("id")).order_by("-n").values_list("currency", flat=True).first()
        or "USD"
    )
    paid = {
        row["day"]: row
        for row in payments.filter(currency=currency)
        .annotate(day=TruncDate("succeeded_at"))
        .values("day")
        .annotate(gross=Sum("amount"), fees=Sum("platform_amount"))
    }
    refunded = {
        row["day"]: row["total"]
        for row in _scoped(
            Refund.objects.filter(
                status=RefundStatus.SUCCEEDED, completed_at__date__gte=first, payment__currency=currency
            ),
            organization_ids,
            "payment__organization_id",
        )
        .annotate(day=TruncDate("completed_at"))
        .values("day")
        .annotate(total=Sum("amount"))
    }
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = paid.get(day, {})
        rows.append(
            RevenueDay(day=day, gross=row.get("gross") or 0, fees=row.get("fees") or 0, refunds=refunded.get(day, 0))
        )
    return currency, rows


def occupancy_heatmap(*, organization_ids: Any, now: datetime) -> list[list[int]]:
    """Parked-car hours per weekday (Monday = 0) and hour of day (UTC) over the last 4 weeks."""
    grid = [[0] * 24 for _ in range(7)]
    params: dict[str, Any] = {
        "since": now - timedelta(days=28),
        "now": now,
        "everything": organization_ids is None,
        "organizations": [] if organization_ids is None else [str(pk) for pk in organization_ids],
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT extract(isodow FROM h AT TIME ZONE 'UTC')::int, extract(hour FROM h AT TIME ZONE 'UTC')::int, count(*)
            FROM bookings_booking b,
                 generate_series(
                     date_trunc('hour', greatest(b.checked_in_at, %(since)s)),
                     least(COALESCE(b.checked_out_at, %(now)s), %(now)s) - interval '1 second',
                     interval '1 hour'
                 ) AS h
            WHERE b.checked_in_at IS NOT NULL AND b.checked_in_at < %(now)s
              AND COALESCE(b.checked_out_at, %(now)s) > %(since)s
              AND (%(everything)s OR b.organization_id = ANY(%(organizations)s::uuid[]))
            GROUP BY 1, 2
            """,
            params,
        )
        for weekday, hour, count in cursor.fetchall():
            grid[weekday - 1][hour] = count
    return grid


def facility_levels(*, facility: Facility) -> list[Zone]:
    return list(facility.zones.order_by("level", "display_order", "name"))


def map_spots(*, facility: Facility, level: int, at: datetime) -> list[dict[str, Any]]:
    """The spots of one level laid out on their grid (unplaced ones after the placed), with live state."""
    spots = list(
        Spot.objects.filter(facility=facility, zone__level=level)
        .select_related("zone")
        .order_by("grid_row", "grid_column", "code")
    )
    states = spot_live_states(spots=spots, at=at)
    placed = [spot for spot in spots if spot.grid_row is not None and spot.grid_column is not None]
    width = max([spot.grid_column for spot in placed if spot.grid_column is not None] + [0]) + 1
    next_row = max([spot.grid_row for spot in placed if spot.grid_row is not None] + [-1]) + 2
    cells = []
    for index, spot in enumerate(spots):
        row, column = spot.grid_row, spot.grid_column
        if row is None or column is None:
            row, column = next_row + index // max(width, 8), index % max(width, 8)
        cells.append(
            {
                "id": spot.pk,
                "code": spot.code,
                "zone": spot.zone.name,
                "row": row,
                "column": column,
                "state": states[spot.pk],
                "ev": spot.has_ev_charger,
                "accessible": spot.is_accessible,
            }
        )
    return cells


def spot_bookings(*, spot: Spot, now: datetime) -> dict[str, Any]:
    bookings = Booking.objects.filter(spot=spot, status__in=ACTIVE_STATUSES, end__gt=now).order_by("start")
    current = (
        bookings.filter(start__lte=now).first()
        or Booking.objects.filter(spot=spot, status=BookingStatus.CHECKED_IN).first()
    )
    upcoming = bookings.filter(start__gt=now)[:3]

    def row(booking: Booking | None) -> dict[str, Any] | None:
        if booking is None:
            return None
        return {"reference": booking.reference, "status": booking.status, "start": booking.start, "end": booking.end}

    return {"current": row(current), "next": [row(b) for b in upcoming]}


def heat_max(grid: list[list[int]]) -> int:
    return max([max(row) for row in grid] + [0])


def group_counts(rows: list[OccupancyRow]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        for state, count in row.counts.items():
            totals[state] += count
    return dict(totals)
