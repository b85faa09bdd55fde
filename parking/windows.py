"""Validation of a requested parking window against a facility (one place, used everywhere)."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from .exceptions import FacilityClosedError, InvalidWindowError
from .hours import window_within_hours
from .models import Facility

# How far in the past a start may lie (clock skew between a phone and the server).
START_TOLERANCE = timedelta(minutes=5)


def window_validate(*, facility: Facility, start: datetime, end: datetime, now: datetime | None = None) -> None:
    """Raise InvalidWindowError (400, naming ``start`` or ``end``) unless the facility can take the window.

    Checks: aware datetimes, start < end, not in the past, the facility's min/max duration, and that the
    facility is open for the whole window in its own time zone.
    """
    now = now or timezone.now()
    if timezone.is_naive(start):
        raise InvalidWindowError("Give the start with a UTC offset (ISO 8601).", attr="start")
    if timezone.is_naive(end):
        raise InvalidWindowError("Give the end with a UTC offset (ISO 8601).", attr="end")
    # Compare and subtract as UTC instants: two datetimes sharing a DST zone are otherwise compared
    # and subtracted by wall clock (01:30–03:30 on a spring-forward night would count as 2 h, not 1 h).
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        raise InvalidWindowError("The end must be after the start.", attr="end")
    if start < now - START_TOLERANCE:
        raise InvalidWindowError("The start is in the past.", attr="start")
    minutes = (end - start).total_seconds() / 60
    if minutes < facility.min_booking_minutes:
        raise InvalidWindowError(
            f"This facility takes stays of at least {facility.min_booking_minutes} minutes.", attr="end"
        )
    if minutes > facility.max_booking_minutes:
        raise InvalidWindowError(
            f"This facility takes stays of at most {facility.max_booking_minutes} minutes.", attr="end"
        )
    if not window_within_hours(facility.operating_hours, facility.timezone, start, end):
        raise FacilityClosedError(attr="start")
