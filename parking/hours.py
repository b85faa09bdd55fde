"""Weekly operating hours, in the facility's local time.

Stored as JSON: ``{"always_open": true}`` or
``{"always_open": false, "weekly": {"0": [["08:00", "20:00"]], "1": [...], ..., "6": []}}`` where keys
are ISO weekdays counted from Monday = 0, and each day has zero or more ``[open, close)`` intervals in
local wall-clock time (``"24:00"`` closes at midnight). An interval may not cross midnight: split it
across the two days instead (``"0": [["22:00", "24:00"]], "1": [["00:00", "02:00"]]``); contiguous
intervals join, so a stay may run through midnight when both sides are open.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

ALWAYS_OPEN: dict[str, Any] = {"always_open": True}
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def validate_operating_hours(value: Any) -> None:
    """Raise ValidationError naming the offending day/interval."""
    if not isinstance(value, dict) or not isinstance(value.get("always_open"), bool):
        raise ValidationError('Operating hours need "always_open": true or false.', code="invalid_hours")
    if value["always_open"]:
        return
    weekly = value.get("weekly")
    if not isinstance(weekly, dict) or set(weekly) - {str(d) for d in range(7)}:
        raise ValidationError('"weekly" must map weekdays "0" (Monday) … "6" to interval lists.', code="invalid_hours")
    for day, intervals in weekly.items():
        if not isinstance(intervals, list):
            raise ValidationError(f"weekly.{day} must be a list of [open, close] pairs.", code="invalid_hours")
        # Check each interval where the user wrote it (the message names its own index), then the
        # overlaps in time order.
        parsed: list[tuple[int, int, str]] = []
        for index, interval in enumerate(intervals):
            where = f"weekly.{day}[{index}]"
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(t, str) and _TIME.match(t) for t in interval)
            ):
                raise ValidationError(f'{where} must be ["HH:MM", "HH:MM"].', code="invalid_hours")
            opens, closes = _minutes(interval[0]), _minutes(interval[1])
            if opens >= closes:
                raise ValidationError(f"{where}: opening must be before closing.", code="invalid_hours")
            parsed.append((opens, closes, where))
        parsed.sort()
        for (_, previous_close, previous), (opens, _, where) in zip(parsed, parsed[1:], strict=False):
            if opens < previous_close:
                raise ValidationError(f"{where} overlaps {previous}.", code="invalid_hours")


def _open_intervals_utc(hours: dict[str, Any], tz: ZoneInfo, day: date) -> list[tuple[datetime, datetime]]:
    """The day's open intervals as UTC instants. A wall time the DST gap skips is read with the offset
    before the change (it lands that much later); a repeated one is its first occurrence."""
    intervals = []
    for opens, closes in hours.get("weekly", {}).get(str(day.weekday()), []):
        start = datetime.combine(day, time.fromisoformat(opens), tzinfo=tz)
        if closes == "24:00":
            end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
        else:
            end = datetime.combine(day, time.fromisoformat(closes), tzinfo=tz)
        intervals.append((start.astimezone(UTC), end.astimezone(UTC)))
    return intervals


def window_within_hours(hours: dict[str, Any], tz_name: str, start: datetime, end: datetime) -> bool:
    """True if the facility is open for the whole window ``[start, end)``.

    Works on absolute instants: each local interval is converted with the facility's zone, so DST
    days have their real length (a 00:00–24:00 day is 23 or 25 hours long). ``start`` and ``end``
    must be aware; any zone is fine (they are compared as UTC instants, so two datetimes sharing a
    zone with DST are never compared by wall clock).
    """
    if hours.get("always_open", True):
        return True
    tz = ZoneInfo(tz_name)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date()
    intervals: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        intervals.extend(_open_intervals_utc(hours, tz, day))
        day += timedelta(days=1)
    # Stored intervals need not be in order within a day; merging contiguous ones needs them sorted.
    merged: list[list[datetime]] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], closes)
        else:
            merged.append([opens, closes])
    return any(opens <= start and end <= closes for opens, closes in merged)
