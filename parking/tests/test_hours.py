"""Operating hours: validation messages, and "open for the whole window" in the facility's zone,
across midnight, across the week's wrap and across DST changes (America/New_York, Europe/London)."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import OrganizationFactory
from parking.hours import ALWAYS_OPEN, validate_operating_hours, window_within_hours
from parking.models import Facility
from parking.services import facility_create

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")


def weekly(**days: list[list[str]]) -> dict[str, Any]:
    """``weekly(mon=[["08:00", "18:00"]], sun=[])`` → the stored JSON shape."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"always_open": False, "weekly": {str(names.index(name)): intervals for name, intervals in days.items()}}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------- validation

NEED_ALWAYS_OPEN = 'Operating hours need "always_open": true or false.'
NEED_WEEKLY = '"weekly" must map weekdays "0" (Monday) … "6" to interval lists.'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("24/7", NEED_ALWAYS_OPEN),
        (None, NEED_ALWAYS_OPEN),
        ({}, NEED_ALWAYS_OPEN),
        ({"always_open": "yes"}, NEED_ALWAYS_OPEN),
        ({"always_open": 1}, NEED_ALWAYS_OPEN),
        ({"always_open": False}, NEED_WEEKLY),
        ({"always_open": False, "weekly": []}, NEED_WEEKLY),
        ({"always_open": False, "weekly": {"7": []}}, NEED_WEEKLY),
        ({"always_open": False, "weekly": {0: []}}, NEED_WEEKLY),
        ({"always_open": False, "weekly": {"2": "08:00-18:00"}}, "weekly.2 must be a list of [open, close] pairs."),
        ({"always_open": False, "weekly": {"5": None}}, "weekly.5 must be a list of [open, close] pairs."),
    ],
)
def test_invalid_shape_is_rejected_with_a_message(value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_operating_hours(value)

    assert exc.value.messages == [message]
    assert exc.value.code == "invalid_hours"


@pytest.mark.parametrize(
    "interval",
    [
        ["08:00"],
        ["08:00", "18:00", "20:00"],
        ["8:00", "18:00"],
        ["08:00", "25:00"],
        ["08:60", "18:00"],
        ["24:01", "24:30"],
        ["08:00", 1800],
        "08:00",
        5,
        None,
        {"open": "08:00", "close": "18:00"},
    ],
    ids=repr,
)
def test_malformed_interval_is_named_by_day_and_position(interval: Any) -> None:
    value = weekly(thu=[["06:00", "07:00"], interval])

    with pytest.raises(ValidationError) as exc:
        validate_operating_hours(value)

    assert exc.value.messages == ['weekly.3[1] must be ["HH:MM", "HH:MM"].']
    assert exc.value.code == "invalid_hours"


@pytest.mark.parametrize(
    ("day", "intervals", "message"),
    [
        ("tue", [["10:00", "10:00"]], "weekly.1[0]: opening must be before closing."),
        ("tue", [["22:00", "02:00"]], "weekly.1[0]: opening must be before closing."),
        ("tue", [["24:00", "24:00"]], "weekly.1[0]: opening must be before closing."),
        # The index is the position the user wrote, not the position after sorting by opening time.
        ("mon", [["12:00", "14:00"], ["09:00", "08:00"]], "weekly.0[1]: opening must be before closing."),
        ("wed", [["08:00", "12:00"], ["11:00", "14:00"]], "weekly.2[1] overlaps weekly.2[0]."),
        ("wed", [["11:00", "14:00"], ["08:00", "12:00"]], "weekly.2[0] overlaps weekly.2[1]."),
        ("wed", [["08:00", "18:00"], ["19:00", "20:00"], ["09:00", "10:00"]], "weekly.2[2] overlaps weekly.2[0]."),
        ("sun", [["00:00", "24:00"], ["23:00", "24:00"]], "weekly.6[1] overlaps weekly.6[0]."),
    ],
)
def test_bad_interval_is_named_by_day_and_position(day: str, intervals: list[list[str]], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_operating_hours(weekly(**{day: intervals}))

    assert exc.value.messages == [message]
    assert exc.value.code == "invalid_hours"


@pytest.mark.parametrize(
    "value",
    [
        ALWAYS_OPEN,
        {"always_open": False, "weekly": {}},  # never open: allowed (e.g. a lot not yet opened)
        weekly(mon=[["08:00", "12:00"], ["12:00", "18:00"]]),  # touching intervals are fine
        weekly(sat=[["13:00", "18:00"], ["08:00", "12:00"]]),  # any order
        weekly(sun=[["00:00", "24:00"]], mon=[], tue=[("06:00", "23:59")]),
        weekly(mon=[["22:00", "24:00"]], tue=[["00:00", "02:00"]]),
    ],
)
def test_valid_hours_pass(value: dict[str, Any]) -> None:
    assert validate_operating_hours(value) is None


@pytest.mark.django_db
def test_the_facility_model_runs_the_validator_and_creates_nothing() -> None:
    org = OrganizationFactory()
    data = {
        "name": "Night lot",
        "address_line": "1 Main St",
        "city": "Springfield",
        "country": "US",
        "latitude": "40.000000",
        "longitude": "-75.000000",
        "timezone": "America/New_York",
        "operating_hours": weekly(fri=[["20:00", "04:00"]]),
    }

    with pytest.raises(ValidationError) as exc:
        facility_create(organization=org, data=data)

    assert exc.value.message_dict == {"operating_hours": ["weekly.4[0]: opening must be before closing."]}
    assert not Facility.objects.filter(organization=org).exists()


# ---------------------------------------------------------------------------- open for the window


def test_always_open_takes_any_window() -> None:
    start = utc(2026, 6, 15, 3, 0)
    assert window_within_hours(ALWAYS_OPEN, "Europe/Berlin", start, start + timedelta(days=30)) is True
    assert window_within_hours({}, "Europe/Berlin", start, start + timedelta(minutes=1)) is True


def test_never_open_takes_nothing() -> None:
    start = utc(2026, 6, 15, 10, 0)
    assert window_within_hours({"always_open": False, "weekly": {}}, "UTC", start, start + timedelta(hours=1)) is False


OFFICE = weekly(**{day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}, sat=[], sun=[])


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("start", "end", "open_"),
    [
        (berlin(2026, 6, 15, 9, 0), berlin(2026, 6, 15, 17, 0), True),
        (berlin(2026, 6, 15, 8, 0), berlin(2026, 6, 15, 18, 0), True),  # exactly the opening hours
        (berlin(2026, 6, 15, 7, 59), berlin(2026, 6, 15, 9, 0), False),
        (berlin(2026, 6, 15, 17, 0), berlin(2026, 6, 15, 18, 1), False),
        (berlin(2026, 6, 15, 17, 0), berlin(2026, 6, 16, 9, 0), False),  # closed overnight
        (berlin(2026, 6, 19, 10, 0), berlin(2026, 6, 19, 12, 0), True),  # Friday
        (berlin(2026, 6, 20, 10, 0), berlin(2026, 6, 20, 12, 0), False),  # Saturday: empty list
        (berlin(2026, 6, 21, 10, 0), berlin(2026, 6, 21, 12, 0), False),  # Sunday
    ],
)
def test_weekday_schedule_in_the_facility_zone(start: datetime, end: datetime, open_: bool) -> None:
    assert berlin(2026, 6, 15, 0, 0).weekday() == 0  # a Monday
    # Given in UTC, as the API hands them over: the schedule is still read in Berlin time (UTC+2).
    assert window_within_hours(OFFICE, "Europe/Berlin", start.astimezone(UTC), end.astimezone(UTC)) is open_
    assert window_within_hours(OFFICE, "Europe/Berlin", start, end) is open_


def test_the_same_utc_window_is_judged_in_the_facility_zone() -> None:
    # 06:30–07:30 UTC is 08:30–09:30 in Berlin (open) but 07:30–08:30 in London (opens at 08:00).
    start, end = utc(2026, 6, 15, 6, 30), utc(2026, 6, 15, 7, 30)
    assert window_within_hours(OFFICE, "Europe/Berlin", start, end) is True
    assert window_within_hours(OFFICE, "Europe/London", start, end) is False


LUNCH_BREAK = weekly(mon=[["13:00", "18:00"], ["08:00", "12:00"]])  # stored out of order on purpose


@pytest.mark.parametrize(
    ("start_hour", "end_hour", "open_"),
    [(9, 11, True), (13, 14, True), (11, 12, True), (11, 13, False), (12, 13, False), (8, 18, False)],
)
def test_gap_between_intervals_is_closed(start_hour: int, end_hour: int, open_: bool) -> None:
    start, end = utc(2026, 6, 15, start_hour, 0), utc(2026, 6, 15, end_hour, 0)
    assert window_within_hours(LUNCH_BREAK, "UTC", start, end) is open_


ACROSS_MIDNIGHT = weekly(mon=[["22:00", "24:00"]], tue=[["00:00", "02:00"]])


@pytest.mark.parametrize(
    ("start", "end", "open_"),
    [
        (utc(2026, 6, 15, 23, 0), utc(2026, 6, 16, 1, 0), True),
        (utc(2026, 6, 15, 22, 0), utc(2026, 6, 16, 2, 0), True),
        (utc(2026, 6, 16, 0, 30), utc(2026, 6, 16, 1, 30), True),
        (utc(2026, 6, 15, 23, 0), utc(2026, 6, 16, 2, 1), False),
        (utc(2026, 6, 15, 21, 59), utc(2026, 6, 15, 23, 0), False),
        # Tuesday 22:00 is not open (only Monday night is).
        (utc(2026, 6, 16, 23, 0), utc(2026, 6, 17, 1, 0), False),
    ],
)
def test_intervals_on_both_sides_of_midnight_join(start: datetime, end: datetime, open_: bool) -> None:
    assert window_within_hours(ACROSS_MIDNIGHT, "UTC", start, end) is open_


def test_sunday_night_joins_monday_morning_across_the_week_wrap() -> None:
    hours = weekly(sun=[["22:00", "24:00"]], mon=[["00:00", "02:00"]])
    assert window_within_hours(hours, "UTC", utc(2026, 6, 14, 23, 0), utc(2026, 6, 15, 1, 0)) is True
    assert window_within_hours(hours, "UTC", utc(2026, 6, 14, 23, 0), utc(2026, 6, 15, 3, 0)) is False


def test_closed_sunday_breaks_a_long_stay() -> None:
    all_day = [["00:00", "24:00"]]
    every_day = weekly(**dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), all_day))
    closed_sunday = weekly(**dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat"), all_day), sun=[])
    start = utc(2026, 6, 15, 9, 0)  # Monday

    assert window_within_hours(every_day, "UTC", start, start + timedelta(days=30)) is True
    assert window_within_hours(closed_sunday, "UTC", start, start + timedelta(days=5)) is True  # to Saturday
    assert window_within_hours(closed_sunday, "UTC", start, start + timedelta(days=6)) is False  # into Sunday
    sunday = utc(2026, 6, 21, 10, 0)
    assert window_within_hours(closed_sunday, "UTC", sunday, sunday + timedelta(hours=1)) is False


# ---------------------------------------------------------------------------- DST, America/New_York

SUNDAY_ALL_DAY = weekly(sun=[["00:00", "24:00"]])


def ny(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK, fold=fold)


def test_spring_forward_sunday_is_23_hours_long() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    opens, closes = ny(2026, 3, 8, 0, 0), ny(2026, 3, 9, 0, 0)
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=23)
    start = opens.astimezone(UTC)
    assert start == utc(2026, 3, 8, 5, 0)

    assert window_within_hours(SUNDAY_ALL_DAY, "America/New_York", start, start + timedelta(hours=23)) is True
    assert window_within_hours(SUNDAY_ALL_DAY, "America/New_York", start, start + timedelta(hours=24)) is False


def test_spring_forward_window_0130_to_0330_is_one_real_hour() -> None:
    start, end = ny(2026, 3, 8, 1, 30), ny(2026, 3, 8, 3, 30)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=1)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30))

    # 01:00–04:00 local that night is two real hours (06:00Z–08:00Z).
    night = weekly(sun=[["01:00", "04:00"]])
    assert window_within_hours(night, "America/New_York", start, end) is True
    assert window_within_hours(night, "America/New_York", utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 8, 0)) is True
    assert window_within_hours(night, "America/New_York", utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 8, 1)) is False
    assert window_within_hours(night, "America/New_York", ny(2026, 3, 8, 1, 0), ny(2026, 3, 8, 4, 0)) is True


def test_fall_back_sunday_is_25_hours_long() -> None:
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    opens, closes = ny(2026, 11, 1, 0, 0), ny(2026, 11, 2, 0, 0)
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=25)
    start = opens.astimezone(UTC)

    assert window_within_hours(SUNDAY_ALL_DAY, "America/New_York", start, start + timedelta(hours=25)) is True
    assert (
        window_within_hours(SUNDAY_ALL_DAY, "America/New_York", start, start + timedelta(hours=25, minutes=1)) is False
    )


def test_fall_back_repeated_hour_is_told_apart_by_fold() -> None:
    # Closes at 01:30 — the first time 01:30 comes round (EDT, 05:30Z).
    early = weekly(sun=[["00:00", "01:30"]])
    first_0100, first_0120 = ny(2026, 11, 1, 1, 0), ny(2026, 11, 1, 1, 20)
    second_0100, second_0120 = ny(2026, 11, 1, 1, 0, fold=1), ny(2026, 11, 1, 1, 20, fold=1)
    assert second_0100.astimezone(UTC) == utc(2026, 11, 1, 6, 0)

    assert window_within_hours(early, "America/New_York", first_0100, first_0120) is True
    # The second 01:00–01:20 (EST) is after closing, even though the wall clock reads the same.
    assert window_within_hours(early, "America/New_York", second_0100, second_0120) is False
    assert window_within_hours(early, "America/New_York", utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 6, 20)) is False


# ---------------------------------------------------------------------------- DST, Europe/London


def test_london_spring_forward_sunday_is_23_hours_long() -> None:
    # 2026-03-29: 01:00 GMT jumps to 02:00 BST; the Sunday runs 00:00Z–23:00Z.
    assert window_within_hours(SUNDAY_ALL_DAY, "Europe/London", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 0))
    assert not window_within_hours(SUNDAY_ALL_DAY, "Europe/London", utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 1))


def test_london_opening_time_inside_the_skipped_hour_is_read_with_the_old_offset() -> None:
    # 01:30 does not exist on 2026-03-29; it is read as 01:30 GMT (= 02:30 BST), so the interval
    # 01:30–03:00 is the half hour 01:30Z–02:00Z.
    hours = weekly(sun=[["01:30", "03:00"]])
    assert window_within_hours(hours, "Europe/London", utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 0)) is True
    assert window_within_hours(hours, "Europe/London", utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0)) is False


DAILY_8_TO_20 = weekly(**{day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})


@pytest.mark.parametrize(
    ("start", "end", "open_"),
    [
        # Saturday 2026-10-24, BST (UTC+1): open 07:00Z–19:00Z.
        (utc(2026, 10, 24, 7, 0), utc(2026, 10, 24, 8, 0), True),
        (utc(2026, 10, 24, 18, 30), utc(2026, 10, 24, 19, 0), True),
        (utc(2026, 10, 24, 19, 0), utc(2026, 10, 24, 19, 30), False),
        # Sunday 2026-10-25, GMT after the change: open 08:00Z–20:00Z.
        (utc(2026, 10, 25, 7, 30), utc(2026, 10, 25, 8, 30), False),
        (utc(2026, 10, 25, 8, 0), utc(2026, 10, 25, 20, 0), True),
        (utc(2026, 10, 25, 19, 30), utc(2026, 10, 25, 20, 1), False),
    ],
)
def test_london_fall_back_shifts_the_opening_hours_in_utc(start: datetime, end: datetime, open_: bool) -> None:
    assert window_within_hours(DAILY_8_TO_20, "Europe/London", start, end) is open_


def test_london_fall_back_sunday_is_25_hours_long() -> None:
    start = datetime(2026, 10, 25, 0, 0, tzinfo=LONDON).astimezone(UTC)
    assert start == utc(2026, 10, 24, 23, 0)
    assert window_within_hours(SUNDAY_ALL_DAY, "Europe/London", start, start + timedelta(hours=25)) is True
    assert window_within_hours(SUNDAY_ALL_DAY, "Europe/London", start, start + timedelta(hours=26)) is False
