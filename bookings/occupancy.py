"""Bookings as an occupancy source for inventory's availability selector."""

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from parking.availability import OccupancySource

from .horizon import drive_in_horizon
from .models import ACTIVE_STATUSES, Booking, BookingKind, BookingStatus


def _occupying(start: datetime, end: datetime) -> Exists:
    # Same predicate as the exclusion constraint: active status and [start, end) overlap.
    holds = Q(status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start)
    if start < timezone.now() + drive_in_horizon():
        # A parked drive-in vehicle keeps its spot for windows starting within the horizon, even past
        # its provisional end (bookings/sessions.py).
        holds |= Q(kind=BookingKind.DRIVE_IN, status=BookingStatus.CHECKED_IN, start__lt=end)
    return Exists(Booking.objects.filter(holds, spot_id=OuterRef("pk")))


def _states(spot_ids: list[int], at: datetime) -> dict[int, str]:
    # A checked-in vehicle occupies its spot until it checks out, even past the booked end.
    current = Q(status__in=ACTIVE_STATUSES, start__lte=at, end__gt=at) | Q(
        status=BookingStatus.CHECKED_IN, start__lte=at
    )
    rows = Booking.objects.filter(current, spot_id__in=spot_ids).values_list("spot_id", "status")
    return {spot_id: "occupied" if status == BookingStatus.CHECKED_IN else "reserved" for spot_id, status in rows}


def _overlapping(spot_ids: list[int], start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = Booking.objects.filter(
        spot_id__in=spot_ids, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start
    ).order_by("start", "reference")
    return [
        {
            "id": str(b.pk),
            "reference": b.reference,
            "spot": b.spot_id,
            "start": b.start,
            "end": b.end,
            "status": b.status,
        }
        for b in rows.only("id", "reference", "spot_id", "start", "end", "status")
    ]


BOOKINGS_OCCUPANCY = OccupancySource(name="bookings", occupying=_occupying, states=_states, overlapping=_overlapping)
