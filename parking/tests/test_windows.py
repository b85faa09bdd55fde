"""window_validate: the one check of a requested [start, end) against a facility.

The function reads only the facility's attributes, so unsaved instances are enough here."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from parking.exceptions import FacilityClosedError, InvalidWindowError
from parking.hours import ALWAYS_OPEN
from parking.models import Facility
from parking.windows import START_TOLERANCE, window_validate

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday
NEW_YORK = ZoneInfo("America/New_York")


def facility(**overrides: Any) -> Facility:
    fields: dict[str, Any] = {
        "name": "Test garage",
        "timezone": "UTC",
        "operating_hours": dict(ALWAYS_OPEN),
        "min_booking_minutes": 30,
        "max_booking_minutes": 24 * 60,
    }
    fields.update(overrides)
    return Facility(**fields)


def rejects(exc_type: type[InvalidWindowError], **kwargs: Any) -> InvalidWindowError:
    with pytest.raises(exc_type) as exc:
        window_validate(**kwargs)
    return exc.value


def test_a_good_window_passes() -> None:
    assert (
        window_validate(facility=facility(), start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=3), now=NOW)
        is None
    )


def test_naive_start_is_rejected_on_start() -> None:
    error = rejects(InvalidWindowError, facility=facility(), start=datetime(2026, 6, 15, 13, 0), end=NOW, now=NOW)

    assert (error.code, error.attr) == ("invalid_window", "start")
    assert error.message == "Give the start with a UTC offset (ISO 8601)."


def test_naive_end_is_rejected_on_end() -> None:
    error = rejects(
        InvalidWindowError,
        facility=facility(),
        start=NOW + timedelta(hours=1),
        end=datetime(2026, 6, 15, 15, 0),
        now=NOW,
    )

    assert (error.code, error.attr) == ("invalid_window", "end")
    assert error.message == "Give the end with a UTC offset (ISO 8601)."


@pytest.mark.parametrize("length", [timedelta(0), timedelta(minutes=-1), timedelta(hours=-5)])
def test_end_not_after_start_is_rejected_on_end(length: timedelta) -> None:
    start = NOW + timedelta(hours=1)

    error = rejects(InvalidWindowError, facility=facility(), start=start, end=start + length, now=NOW)

    assert (error.code, error.attr, error.message) == ("invalid_window", "end", "The end must be after the start.")


def test_start_in_the_past_is_rejected_beyond_the_clock_skew_tolerance() -> None:
    assert timedelta(minutes=5) == START_TOLERANCE
    too_early = NOW - START_TOLERANCE - timedelta(seconds=1)

    error = rejects(InvalidWindowError, facility=facility(), start=too_early, end=NOW + timedelta(hours=1), now=NOW)

    assert (error.code, error.attr, error.message) == ("invalid_window", "start", "The start is in the past.")
    # Exactly at the tolerance is still accepted (a phone's clock a little behind the server's).
    assert (
        window_validate(facility=facility(), start=NOW - START_TOLERANCE, end=NOW + timedelta(hours=1), now=NOW) is None
    )


@time_machine.travel(NOW, tick=False)
def test_without_now_the_current_time_is_used() -> None:
    with pytest.raises(InvalidWindowError) as exc:
        window_validate(facility=facility(), start=NOW - timedelta(minutes=6), end=NOW + timedelta(hours=1))
    assert exc.value.attr == "start"

    assert window_validate(facility=facility(), start=NOW - timedelta(minutes=4), end=NOW + timedelta(hours=1)) is None


def test_shorter_than_the_minimum_is_rejected_on_end() -> None:
    start = NOW + timedelta(hours=1)
    garage = facility(min_booking_minutes=60)

    error = rejects(InvalidWindowError, facility=garage, start=start, end=start + timedelta(minutes=59), now=NOW)

    assert (error.code, error.attr) == ("invalid_window", "end")
    assert error.message == "This facility takes stays of at least 60 minutes."
    assert window_validate(facility=garage, start=start, end=start + timedelta(minutes=60), now=NOW) is None


def test_longer_than_the_maximum_is_rejected_on_end() -> None:
    start = NOW + timedelta(hours=1)
    garage = facility(max_booking_minutes=120)

    error = rejects(InvalidWindowError, facility=garage, start=start, end=start + timedelta(minutes=121), now=NOW)

    assert (error.code, error.attr) == ("invalid_window", "end")
    assert error.message == "This facility takes stays of at most 120 minutes."
    assert window_validate(facility=garage, start=start, end=start + timedelta(minutes=120), now=NOW) is None


OFFICE_HOURS = {
    "always_open": False,
    "weekly": {str(day): [["08:00", "18:00"]] for day in range(5)},
}


def test_closed_during_the_window_is_facility_closed_on_start() -> None:
    garage = facility(operating_hours=OFFICE_HOURS)
    start = datetime(2026, 6, 15, 17, 0, tzinfo=UTC)  # Monday 17:00, closes at 18:00

    error = rejects(FacilityClosedError, facility=garage, start=start, end=start + timedelta(hours=2), now=NOW)

    assert isinstance(error, InvalidWindowError)  # one family: callers catching invalid windows get it too
    assert (error.code, error.attr) == ("facility_closed", "start")
    assert error.message == "The facility is not open for the whole window."
    assert window_validate(facility=garage, start=start, end=start + timedelta(hours=1), now=NOW) is None


def test_closed_is_judged_in_the_facility_zone() -> None:
    # 13:00–14:00 UTC on a Monday is 09:00–10:00 in New York (open) and 22:00–23:00 in Tokyo (closed).
    start, end = datetime(2026, 6, 15, 13, 0, tzinfo=UTC), datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
    assert (
        window_validate(
            facility=facility(operating_hours=OFFICE_HOURS, timezone="America/New_York"), start=start, end=end, now=NOW
        )
        is None
    )
    error = rejects(
        FacilityClosedError,
        facility=facility(operating_hours=OFFICE_HOURS, timezone="Asia/Tokyo"),
        start=start,
        end=end,
        now=NOW,
    )
    assert error.code == "facility_closed"


def test_checks_run_in_order_the_first_failure_is_reported() -> None:
    garage = facility(operating_hours={"always_open": False, "weekly": {}}, min_booking_minutes=60)
    past = NOW - timedelta(days=1)
    # In the past, too short and closed: "in the past" is reported.
    error = rejects(InvalidWindowError, facility=garage, start=past, end=past + timedelta(minutes=10), now=NOW)
    assert (error.code, error.attr, error.message) == ("invalid_window", "start", "The start is in the past.")
    # Too short and closed: the duration is reported, not the hours.
    future = NOW + timedelta(days=1)
    error = rejects(InvalidWindowError, facility=garage, start=future, end=future + timedelta(minutes=10), now=NOW)
    assert (error.code, error.attr) == ("invalid_window", "end")


# ---------------------------------------------------------------------------- DST


def test_duration_is_real_time_across_spring_forward() -> None:
    # 01:30–03:30 New York time on 2026-03-08 is one real hour (02:00 EST jumps to 03:00 EDT).
    garage = facility(timezone="America/New_York", max_booking_minutes=90)
    start = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)
    end = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)
    now = datetime(2026, 3, 1, tzinfo=UTC)

    assert window_validate(facility=garage, start=start, end=end, now=now) is None
    # 01:30–04:30 local is two real hours: too long.
    error = rejects(
        InvalidWindowError, facility=garage, start=start, end=datetime(2026, 3, 8, 4, 30, tzinfo=NEW_YORK), now=now
    )
    assert error.message == "This facility takes stays of at most 90 minutes."


def test_duration_is_real_time_across_fall_back() -> None:
    # 00:30–01:45 (EST, second pass) on 2026-11-01 is 2 h 15 min of real time, not 1 h 15 min.
    garage = facility(timezone="America/New_York", max_booking_minutes=90)
    start = datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK)
    end = datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK, fold=1)
    now = datetime(2026, 10, 1, tzinfo=UTC)

    error = rejects(InvalidWindowError, facility=garage, start=start, end=end, now=now)

    assert (error.attr, error.message) == ("end", "This facility takes stays of at most 90 minutes.")


def test_end_before_start_in_real_time_during_the_repeated_hour() -> None:
    # 01:40 EDT (first pass) comes 40 minutes *before* 01:20 EST (second pass).
    start = datetime(2026, 11, 1, 1, 20, tzinfo=NEW_YORK, fold=1)
    end = datetime(2026, 11, 1, 1, 40, tzinfo=NEW_YORK, fold=0)
    now = datetime(2026, 10, 1, tzinfo=UTC)

    error = rejects(InvalidWindowError, facility=facility(timezone="America/New_York"), start=start, end=end, now=now)

    assert (error.attr, error.message) == ("end", "The end must be after the start.")
