"""Golden tables for the pricing engine: every strategy and modifier, DST days, midnight, passes, errors.

Dates: 2026-03-09 is a Monday. US DST starts 2026-03-08 and ends 2026-11-01 (America/New_York);
UK DST starts 2026-03-29 and ends 2026-10-25 (Europe/London).
"""

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pricing.engine import (
    MAX_STAY,
    DayAmount,
    LineItem,
    PricingConfigError,
    PricingContext,
    PricingInputError,
    Quote,
    StayTooLongError,
    quote_stay,
)
from pricing.fees import fee_breakdown
from pricing.schemas import STRATEGY_EXAMPLES

NY = "America/New_York"
LONDON = "Europe/London"
HOURLY = {"rate": 1000, "increment_minutes": 60, "minimum": 0}


def at(zone, *args, fold=0):
    """A wall-clock time in a zone, as an aware datetime."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def mon(hour, minute=0, second=0):
    """Monday 2026-03-09 in New York (EDT, UTC-4)."""
    return at(NY, 2026, 3, 9, hour, minute, second)


def price(strategy, config, start, end, zone=NY, **context):
    return quote_stay(
        strategy=strategy, config=config, start=start, end=end, time_zone=zone, context=PricingContext(**context)
    )


def lines(quote):
    return [(item.code, item.amount) for item in quote.line_items]


# --- hourly ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "duration", "expected"),
    [
        (HOURLY, timedelta(hours=4), 4000),
        (HOURLY, timedelta(hours=4, seconds=1), 5000),
        (HOURLY, timedelta(minutes=61), 2000),
        ({"rate": 1000, "increment_minutes": 15}, timedelta(minutes=61), 1250),
        ({"rate": 1000, "increment_minutes": 15}, timedelta(minutes=60), 1000),
        ({"rate": 1000, "increment_minutes": 1}, timedelta(minutes=1), 17),  # 16.67 → 17
        ({"rate": 1000, "increment_minutes": 1}, timedelta(seconds=30), 17),
        ({"rate": 1000, "increment_minutes": 1}, timedelta(minutes=2), 33),  # 33.33 → 33
        ({"rate": 999, "increment_minutes": 15}, timedelta(minutes=15), 250),  # 249.75 → 250
        ({"rate": 1000, "increment_minutes": 30}, timedelta(minutes=45), 1000),
        ({"rate": 1000}, timedelta(hours=2), 2000),  # increment defaults to 60
        ({"rate": 0}, timedelta(hours=2), 0),
    ],
)
def test_hourly_bills_every_started_increment_rounded_half_up_once(config, duration, expected):
    quote = price("hourly", config, mon(9), mon(9) + duration)
    assert quote.parking_amount == expected
    assert lines(quote) == [("tariff", expected)]


def test_hourly_line_says_what_was_billed():
    quote = price("hourly", {"rate": 1000, "increment_minutes": 15}, mon(9), mon(10, 1))
    assert quote.line_items == (
        LineItem("tariff", "1 h 1 min billed as 1 h 15 min (15-min increments) at 1000/h", 1250),
    )
    assert price("hourly", HOURLY, mon(9), mon(13)).line_items == (LineItem("tariff", "4 h at 1000/h", 4000),)


def test_hourly_minimum_is_topped_up_on_its_own_line():
    config = {"rate": 1000, "increment_minutes": 60, "minimum": 1500}
    assert lines(price("hourly", config, mon(9), mon(9, 20))) == [("tariff", 1000), ("minimum_charge", 500)]
    assert lines(price("hourly", config, mon(9), mon(12))) == [("tariff", 3000)]


def test_four_hours_at_1000_gives_the_architecture_fee_example():
    # given 4 h at 1000/h
    quote = price("hourly", HOURLY, mon(9), mon(13))
    # when the default fee policy is applied
    fees = fee_breakdown(parking_amount=quote.parking_amount)
    # then
    assert (quote.parking_amount, fees.service_fee, fees.transaction_fee, fees.total) == (4000, 400, 50, 4450)
    assert (fees.owner_payout, fees.platform_revenue) == (4000, 450)


# --- tiered ----------------------------------------------------------------------------------------------

TIERED = STRATEGY_EXAMPLES["tiered"]  # first 2 h at 500/h, then 300/h, 60-min increments


@pytest.mark.parametrize(
    ("config", "duration", "expected_lines"),
    [
        (TIERED, timedelta(hours=1), [500]),
        (TIERED, timedelta(hours=2), [1000]),
        (TIERED, timedelta(hours=2, minutes=1), [1000, 300]),
        (TIERED, timedelta(hours=5), [1000, 900]),
        (TIERED, timedelta(hours=24), [1000, 6600]),
        ({**TIERED, "increment_minutes": 30}, timedelta(hours=2, minutes=30), [1000, 150]),
        (
            {
                "tiers": [
                    {"up_to_hours": 1, "rate": 800},
                    {"up_to_hours": 3, "rate": 500},
                    {"up_to_hours": None, "rate": 200},
                ]
            },
            timedelta(hours=5),
            [800, 1000, 400],
        ),
        (
            {"tiers": [{"up_to_hours": 1.5, "rate": 600}, {"up_to_hours": None, "rate": 300}]},
            timedelta(hours=2),
            [900, 150],
        ),
    ],
)
def test_tiered_splits_billed_minutes_over_cumulative_tiers(config, duration, expected_lines):
    quote = price("tiered", config, mon(9), mon(9) + duration)
    assert [item.amount for item in quote.line_items] == expected_lines
    assert {item.code for item in quote.line_items} == {"tier"}
    assert quote.parking_amount == sum(expected_lines)


def test_tiered_line_descriptions():
    quote = price("tiered", TIERED, mon(9), mon(14))
    assert [item.description for item in quote.line_items] == [
        "Tier 1 (first 2 h): 2 h at 500/h",
        "Tier 2 (after 2 h): 3 h at 300/h",
    ]


def test_tiered_with_a_limited_last_tier_refuses_longer_stays():
    config = {"tiers": [{"up_to_hours": 2, "rate": 500}, {"up_to_hours": 5, "rate": 300}]}
    assert price("tiered", config, mon(9), mon(14)).parking_amount == 1900
    with pytest.raises(StayTooLongError) as caught:
        price("tiered", config, mon(9), mon(14, 1))
    assert caught.value.code == "stay_too_long"
    assert caught.value.attr == "end"


# --- slab ------------------------------------------------------------------------------------------------

SLAB = STRATEGY_EXAMPLES["slab"]  # ≤1 h 500, ≤3 h 1200, longer 3000


@pytest.mark.parametrize(
    ("duration", "expected", "label"),
    [
        (timedelta(minutes=1), 500, "Slab up to 1 h"),
        (timedelta(minutes=30), 500, "Slab up to 1 h"),
        (timedelta(hours=1), 500, "Slab up to 1 h"),
        (timedelta(hours=1, seconds=1), 1200, "Slab up to 3 h"),
        (timedelta(hours=2, minutes=10), 1200, "Slab up to 3 h"),
        (timedelta(hours=3), 1200, "Slab up to 3 h"),
        (timedelta(hours=3, minutes=1), 3000, "Slab over 3 h"),
        (timedelta(hours=72), 3000, "Slab over 3 h"),
    ],
)
def test_slab_charges_the_first_slab_that_covers_the_stay(duration, expected, label):
    quote = price("slab", SLAB, mon(9), mon(9) + duration)
    assert lines(quote) == [("tariff", expected)]
    assert quote.line_items[0].description.startswith(label)


def test_slab_without_an_open_last_slab_refuses_longer_stays():
    config = {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 24, "price": 2000}]}
    assert price("slab", config, mon(9), mon(9) + timedelta(hours=24)).parking_amount == 2000
    with pytest.raises(StayTooLongError, match="at most 24 h"):
        price("slab", config, mon(9), mon(9) + timedelta(hours=24, seconds=1))


# --- daily -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "start", "end", "expected"),
    [
        ("calendar", mon(9), mon(17), 2500),
        ("calendar", mon(0), mon(0) + timedelta(days=1), 2500),  # [Mon 00:00, Tue 00:00) touches Monday only
        ("calendar", mon(23), mon(23) + timedelta(hours=2), 5000),  # across midnight: two days
        ("calendar", mon(9), mon(9) + timedelta(days=2), 7500),  # Mon, Tue, Wed
        ("calendar", mon(18), mon(22), 2500),  # one local day although it spans two UTC days
        ("24h", mon(9), mon(17), 2500),
        ("24h", mon(9), mon(9) + timedelta(hours=24), 2500),
        ("24h", mon(9), mon(9) + timedelta(hours=24, minutes=1), 5000),
        ("24h", mon(23), mon(23) + timedelta(hours=2), 2500),
    ],
)
def test_daily_counts_local_calendar_days_or_started_24_hours(mode, start, end, expected):
    quote = price("daily", {"rate": 2500, "mode": mode}, start, end)
    assert lines(quote) == [("tariff", expected)]


def test_daily_line_descriptions():
    assert price("daily", {"rate": 2500}, mon(9), mon(9) + timedelta(days=2)).line_items[0].description == (
        "3 calendar days at 2500/day"
    )
    assert price("daily", {"rate": 2500, "mode": "24h"}, mon(9), mon(10)).line_items[0].description == (
        "1 started 24-h period at 2500/day"
    )


# --- flat ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [timedelta(minutes=1), timedelta(hours=5), timedelta(days=5)])
def test_flat_is_one_price_for_any_stay(duration):
    assert lines(price("flat", {"amount": 1500}, mon(9), mon(9) + duration)) == [("tariff", 1500)]


# --- time of day -----------------------------------------------------------------------------------------

PEAK = {"name": "Peak", "days": [0, 1, 2, 3, 4], "start": "07:00", "end": "10:00", "multiplier": 1.5}
NIGHT = {"name": "Night", "days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00", "rate": 400}
TOD = {"base": {"strategy": "hourly", "config": HOURLY}, "windows": [PEAK, NIGHT]}


def tod(*windows, increment=60, rate=1000, minimum=0):
    return {
        "base": {"strategy": "hourly", "config": {"rate": rate, "increment_minutes": increment, "minimum": minimum}},
        "windows": list(windows),
    }


@pytest.mark.parametrize(
    ("config", "start", "end", "expected_lines"),
    [
        # 06:00 standard, 07:00 and 08:00 peak
        (TOD, mon(6), mon(9), [1000, 3000]),
        # each started hour at the rate in force when it starts: 06:30 standard, 07:30 peak
        (TOD, mon(6, 30), mon(8, 30), [1000, 1500]),
        # 21:00 standard, 22:00–05:00 night (8 increments), 06:00 standard, Tue 07:00 peak
        (TOD, mon(21), mon(21) + timedelta(hours=11), [2000, 1500, 3200]),
        # weekday-only peak: Saturday morning is standard
        (TOD, at(NY, 2026, 3, 14, 7), at(NY, 2026, 3, 14, 10), [3000]),
        # 15-min increments: 06:50 standard (250), 07:05 peak (375)
        (tod(PEAK, increment=15), mon(6, 50), mon(7, 20), [250, 375]),
        # a window past midnight belongs to the day it starts: Sunday night covers Monday 01:00–03:00 …
        (tod({"days": [6], "start": "22:00", "end": "06:00", "rate": 400}), mon(1), mon(3), [800]),
        # … and Monday's own night window only starts on Monday at 22:00
        (tod({"days": [0], "start": "22:00", "end": "06:00", "rate": 400}), mon(1), mon(3), [2000]),
        # a window ending at midnight: 19:00 and Tue 00:00 standard, 20:00–23:00 doubled
        (
            tod({"days": [0], "start": "20:00", "end": "00:00", "multiplier": 2}),
            mon(19),
            mon(19) + timedelta(hours=6),
            [2000, 8000],
        ),
        # a fractional effective rate: 999 × 1.5 = 1498.5/h, 3 h = 4495.5 → 4496
        (tod(PEAK, rate=999), mon(7), mon(10), [4496]),
    ],
)
def test_time_of_day_splits_the_stay_between_windows_in_local_time(config, start, end, expected_lines):
    quote = price("time_of_day", config, start, end)
    assert [item.amount for item in quote.line_items] == expected_lines
    assert {item.code for item in quote.line_items} == {"time_window"}


def test_time_of_day_line_descriptions():
    quote = price("time_of_day", TOD, mon(6), mon(9))
    assert [item.description for item in quote.line_items] == [
        "Standard rate: 1 h at 1000/h (60-min increments)",
        "Peak (Mon–Fri 07:00–10:00, ×1.5): 2 h at 1500/h",
    ]
    night = price("time_of_day", TOD, mon(23), mon(23) + timedelta(hours=1))
    assert night.line_items[0].description == "Night (every day 22:00–06:00, 400/h): 1 h at 400/h (60-min increments)"


def test_time_of_day_minimum_applies_to_the_whole_stay():
    quote = price("time_of_day", tod(NIGHT, minimum=1000), mon(23), mon(23) + timedelta(hours=1))
    assert lines(quote) == [("time_window", 400), ("minimum_charge", 600)]


# --- DST -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "end", "real_hours"),
    [
        # spring forward: 00:00 EST → 04:00 EDT is 3 real hours
        (NY, at(NY, 2026, 3, 8, 0), at(NY, 2026, 3, 8, 4), 3),
        (NY, at(NY, 2026, 3, 8, 1, 30), at(NY, 2026, 3, 8, 3, 30), 1),
        # fall back: 00:00 EDT → 03:00 EST is 4 real hours
        (NY, at(NY, 2026, 11, 1, 0), at(NY, 2026, 11, 1, 3), 4),
        (NY, at(NY, 2026, 11, 1, 1, 30), at(NY, 2026, 11, 1, 1, 30, fold=1), 1),  # the repeated 01:30
        (LONDON, at(LONDON, 2026, 3, 29, 0), at(LONDON, 2026, 3, 29, 3), 2),
        (LONDON, at(LONDON, 2026, 10, 25, 0), at(LONDON, 2026, 10, 25, 3), 4),
    ],
)
def test_hourly_across_a_dst_change_bills_real_elapsed_time(zone, start, end, real_hours):
    quote = price("hourly", HOURLY, start, end, zone=zone)
    assert quote.elapsed == timedelta(hours=real_hours)
    assert quote.parking_amount == 1000 * real_hours


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (NY, date(2026, 3, 8), 23),
        (NY, date(2026, 11, 1), 25),
        (LONDON, date(2026, 3, 29), 23),
        (LONDON, date(2026, 10, 25), 25),
    ],
)
def test_daily_on_dst_days_is_one_calendar_day_but_real_24h_blocks(zone, day, hours):
    start = at(zone, day.year, day.month, day.day, 0)
    end = at(zone, day.year, day.month, day.day + 1, 0)
    calendar = price("daily", {"rate": 2500, "mode": "calendar"}, start, end, zone=zone)
    blocks = price("daily", {"rate": 2500, "mode": "24h"}, start, end, zone=zone)
    assert calendar.elapsed == timedelta(hours=hours)
    assert calendar.parking_amount == 2500
    assert blocks.parking_amount == (5000 if hours > 24 else 2500)


def test_daily_max_caps_the_25_hour_fall_back_day_as_one_day():
    config = {**HOURLY, "modifiers": {"daily_max": 20000}}
    quote = price("hourly", config, at(NY, 2026, 11, 1, 0), at(NY, 2026, 11, 2, 0))
    assert lines(quote) == [("tariff", 25000), ("daily_max", -5000)]
    assert quote.tariff_by_day == (DayAmount(date(2026, 11, 1), 20000),)


def test_daily_max_on_the_23_hour_spring_forward_day():
    config = {**HOURLY, "modifiers": {"daily_max": 30000}}
    quote = price("hourly", config, at(NY, 2026, 3, 8, 0), at(NY, 2026, 3, 9, 0))
    assert lines(quote) == [("tariff", 23000)]
    assert quote.tariff_by_day == (DayAmount(date(2026, 3, 8), 23000),)


def test_time_of_day_window_on_spring_forward_night_loses_the_skipped_hour():
    # 00:00 EST standard, 01:00 EST in the window, then the clock reads 03:00 EDT: standard again
    config = tod({"days": [6], "start": "01:00", "end": "03:00", "multiplier": 2})
    quote = price("time_of_day", config, at(NY, 2026, 3, 8, 0), at(NY, 2026, 3, 8, 4))
    assert [item.amount for item in quote.line_items] == [2000, 2000]
    assert quote.line_items[1].description.endswith(": 1 h at 2000/h")


def test_time_of_day_window_on_fall_back_night_lasts_three_real_hours():
    # 00:00 EDT standard; 01:00 EDT, 01:00 EST and 02:00 EST are all inside 01:00–03:00 on the wall clock
    config = tod({"days": [6], "start": "01:00", "end": "03:00", "multiplier": 2})
    quote = price("time_of_day", config, at(NY, 2026, 11, 1, 0), at(NY, 2026, 11, 1, 3))
    assert [item.amount for item in quote.line_items] == [1000, 6000]


def test_time_of_day_night_window_in_london_across_fall_back():
    # Saturday 22:00 → Sunday 06:00 on the wall clock is 9 real hours, all in the night window
    quote = price("time_of_day", TOD, at(LONDON, 2026, 10, 24, 22), at(LONDON, 2026, 10, 25, 6), zone=LONDON)
    assert lines(quote) == [("time_window", 3600)]


def test_time_of_day_with_minute_increments_across_spring_forward_in_london():
    # window every day 00:30–01:30 at 600/h; 01:00 GMT jumps to 02:00 BST so only 30 minutes are in it
    config = tod({"days": [6], "start": "00:30", "end": "01:30", "rate": 600}, increment=1, rate=60)
    quote = price("time_of_day", config, at(LONDON, 2026, 3, 29, 0), at(LONDON, 2026, 3, 29, 3), zone=LONDON)
    # 2 real hours: 30 min at 60/h + 30 min at 600/h + 60 min at 60/h
    assert [item.amount for item in quote.line_items] == [90, 300]


def test_a_day_whose_midnight_falls_in_the_dst_gap_starts_at_the_transition():
    # Havana springs forward at midnight: 2026-03-08 00:00 never happens, the day starts at 01:00 CDT
    havana = "America/Havana"
    start, end = at(havana, 2026, 3, 7, 22), at(havana, 2026, 3, 8, 2)
    quote = price("hourly", {**HOURLY, "modifiers": {"daily_max": 50000}}, start, end, zone=havana)
    assert quote.elapsed == timedelta(hours=3)
    assert quote.tariff_by_day == (DayAmount(date(2026, 3, 7), 2000), DayAmount(date(2026, 3, 8), 1000))
    assert price("daily", {"rate": 2500}, start, end, zone=havana).parking_amount == 5000


# --- across midnight and caps ----------------------------------------------------------------------------


def test_daily_max_caps_each_local_day_of_a_stay_across_midnights():
    # Mon 20:00 → Wed 10:00 at 1000/h: Mon 4 h, Tue 24 h, Wed 10 h
    config = {**HOURLY, "modifiers": {"daily_max": 5000}}
    quote = price("hourly", config, mon(20), mon(10) + timedelta(days=2))
    assert lines(quote) == [("tariff", 38000), ("daily_max", -24000)]
    assert quote.tariff_by_day == (
        DayAmount(date(2026, 3, 9), 4000),
        DayAmount(date(2026, 3, 10), 5000),
        DayAmount(date(2026, 3, 11), 5000),
    )
    assert quote.parking_amount == 14000
    assert quote.line_items[1].description == "Daily maximum 5000 per local day (reached on 2 days)"


def test_an_increment_counts_on_the_day_it_starts():
    quote = price("hourly", {**HOURLY, "modifiers": {"daily_max": 5000}}, mon(23, 30), mon(23, 30) + timedelta(hours=1))
    assert quote.parking_amount == 1000
    assert quote.tariff_by_day == (DayAmount(date(2026, 3, 9), 1000), DayAmount(date(2026, 3, 10), 0))


def test_weekly_max_follows_local_iso_weeks():
    # Sunday 20:00 → Monday 04:00 in New York is all Monday in UTC, but two local ISO weeks
    config = {**HOURLY, "modifiers": {"weekly_max": 3000}}
    quote = price("hourly", config, at(NY, 2026, 3, 15, 20), at(NY, 2026, 3, 16, 4))
    assert lines(quote) == [("tariff", 8000), ("weekly_max", -2000)]
    assert [d.amount for d in quote.tariff_by_day] == [3000, 3000]


def test_daily_then_weekly_max_over_eight_days():
    config = {**HOURLY, "modifiers": {"daily_max": 8000, "weekly_max": 30000}}
    quote = price("hourly", config, mon(0), mon(0) + timedelta(days=8))
    assert lines(quote) == [("tariff", 192000), ("daily_max", -128000), ("weekly_max", -26000)]
    assert quote.parking_amount == 38000
    assert [d.amount for d in quote.tariff_by_day] == [8000, 8000, 8000, 6000, 0, 0, 0, 8000]


def test_daily_max_with_tiered_and_slab_and_time_of_day():
    caps = {"modifiers": {"daily_max": 4000}}
    two_days = (mon(9), mon(9) + timedelta(days=1))
    # tiered: Monday 15 h = 1000 + 13 × 300 = 4900 → 4000; Tuesday 9 h = 2700
    tiered = price("tiered", {**TIERED, **caps}, *two_days)
    assert lines(tiered) == [("tier", 1000), ("tier", 6600), ("daily_max", -900)]
    assert [d.amount for d in tiered.tariff_by_day] == [4000, 2700]
    # slab: the whole price is reached on Monday
    assert lines(price("slab", {**SLAB, **caps}, *two_days)) == [("tariff", 3000)]
    tod_quote = price("time_of_day", {**TOD, **caps}, *two_days)
    assert all(d.amount <= 4000 for d in tod_quote.tariff_by_day)
    assert tod_quote.parking_amount == 8000


# --- multipliers -----------------------------------------------------------------------------------------

MODIFIERS = {
    "category_multipliers": {"ev": 1.2, "vip": 1.5},
    "vehicle_multipliers": {"motorcycle": 0.5},
    "occupancy_surge": {"threshold": 0.8, "multiplier": 1.25},
}


@pytest.mark.parametrize(
    ("context", "expected_lines"),
    [
        ({}, [("tariff", 4000)]),
        ({"spot_category": "ev"}, [("tariff", 4000), ("category_multiplier", 800)]),
        ({"spot_category": "vip"}, [("tariff", 4000), ("category_multiplier", 2000)]),
        ({"spot_category": "standard"}, [("tariff", 4000)]),
        ({"vehicle_type": "motorcycle"}, [("tariff", 4000), ("vehicle_multiplier", -2000)]),
        ({"vehicle_type": "suv"}, [("tariff", 4000)]),
        (
            {"spot_category": "ev", "vehicle_type": "motorcycle"},
            [("tariff", 4000), ("category_multiplier", 800), ("vehicle_multiplier", -2400)],
        ),
        ({"occupancy_ratio": 0.9}, [("tariff", 4000), ("occupancy_surge", 1000)]),
        ({"occupancy_ratio": Decimal("0.85")}, [("tariff", 4000), ("occupancy_surge", 1000)]),
        ({"occupancy_ratio": 0.8}, [("tariff", 4000)]),  # not above the threshold
        ({"occupancy_ratio": 0.5}, [("tariff", 4000)]),
        ({"occupancy_ratio": None}, [("tariff", 4000)]),
    ],
)
def test_multipliers_are_line_items_on_the_running_subtotal(context, expected_lines):
    quote = price("hourly", {**HOURLY, "modifiers": MODIFIERS}, mon(9), mon(13), **context)
    assert lines(quote) == expected_lines
    assert quote.parking_amount == sum(amount for _, amount in expected_lines)


def test_a_multiplier_line_is_rounded_half_up():
    # 1250 × 1.15 = 1437.5 → 1438
    config = {"rate": 1250, "modifiers": {"category_multipliers": {"ev": 1.15}}}
    quote = price("hourly", config, mon(9), mon(10), spot_category="ev")
    assert lines(quote) == [("tariff", 1250), ("category_multiplier", 188)]
    assert quote.line_items[1].description == "Spot category ev ×1.15"


@pytest.mark.parametrize(
    ("context", "max_multiplier", "expected_lines", "description"),
    [
        # ev 1.2 × surge 1.25 = 1.5 > 1.4: the surge is limited to 1.4 / 1.2 = 7/6; 4800 × 7/6 = 5600
        (
            {"spot_category": "ev"},
            1.4,
            [("tariff", 4000), ("category_multiplier", 800), ("occupancy_surge", 800)],
            "Occupancy 95 % above 80 %: ×1.25, limited to ×1.1667 (combined maximum ×1.4)",
        ),
        # vip 1.5 is already at the ceiling: no surge line
        ({"spot_category": "vip"}, 1.5, [("tariff", 4000), ("category_multiplier", 2000)], None),
        # motorcycle 0.5 × 1.25 stays far below the ceiling: the full surge
        (
            {"vehicle_type": "motorcycle"},
            1.5,
            [("tariff", 4000), ("vehicle_multiplier", -2000), ("occupancy_surge", 500)],
            "Occupancy 95 % above 80 %: ×1.25",
        ),
    ],
)
def test_surge_max_multiplier_caps_the_combined_factor(context, max_multiplier, expected_lines, description):
    surge = {"threshold": 0.8, "multiplier": 1.25, "max_multiplier": max_multiplier}
    config = {**HOURLY, "modifiers": {**MODIFIERS, "occupancy_surge": surge}}
    quote = price("hourly", config, mon(9), mon(13), occupancy_ratio=0.95, **context)
    assert lines(quote) == expected_lines
    if description:
        assert quote.line_items[-1].description == description


def test_caps_apply_to_the_tariff_before_multipliers():
    config = {**HOURLY, "modifiers": {"daily_max": 5000, "vehicle_multipliers": {"motorcycle": 0.5}}}
    quote = price("hourly", config, mon(8), mon(18), vehicle_type="motorcycle")
    assert lines(quote) == [("tariff", 10000), ("daily_max", -5000), ("vehicle_multiplier", -2500)]
    assert quote.parking_amount == 2500


# --- pass coverage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("covered", [[(mon(7), mon(13))], [(mon(8), mon(12))], [(mon(8), mon(10)), (mon(9), mon(12))]])
def test_a_fully_covered_stay_costs_nothing_and_says_so(covered):
    quote = price("hourly", {**HOURLY, "minimum": 1500}, mon(8), mon(12), covered_intervals=covered)
    assert quote.parking_amount == 0
    assert quote.subscription_used is True
    assert quote.line_items == (LineItem("pass_coverage", "Whole stay of 4 h covered by a pass", 0),)
    assert quote.covered == timedelta(hours=4)
    assert quote.tariff_by_day == (DayAmount(date(2026, 3, 9), 0),)
    assert fee_breakdown(parking_amount=quote.parking_amount).total == 0


def test_a_partly_covered_stay_bills_the_uncovered_minutes():
    # 08:00–12:00 with a pass 09:00–10:30: 2 h 30 min uncovered → 3 started hours
    quote = price("hourly", HOURLY, mon(8), mon(12), covered_intervals=[(mon(9), mon(10, 30))])
    assert quote.line_items == (
        LineItem("pass_coverage", "1 h 30 min covered by a pass, not charged", 0),
        LineItem("tariff", "2 h 30 min billed as 3 h (60-min increments) at 1000/h", 3000),
    )
    assert quote.subscription_used is True
    assert quote.covered == timedelta(hours=1, minutes=30)


def test_overlapping_passes_are_merged():
    covered = [(mon(9), mon(10)), (mon(9, 30), mon(11))]
    assert price("hourly", HOURLY, mon(8), mon(12), covered_intervals=covered).parking_amount == 2000


def test_a_pass_outside_the_window_is_not_used():
    quote = price("hourly", HOURLY, mon(8), mon(12), covered_intervals=[(mon(12), mon(14)), (mon(5), mon(8))])
    assert quote.subscription_used is False
    assert lines(quote) == [("tariff", 4000)]


def test_pass_intervals_in_another_offset_are_the_same_instants():
    covered = [(mon(9).astimezone(UTC), mon(10).astimezone(timezone(timedelta(hours=5, minutes=30))))]
    assert price("hourly", HOURLY, mon(8), mon(12), covered_intervals=covered).parking_amount == 3000


@pytest.mark.parametrize(
    ("strategy", "config", "start", "end", "covered", "expected"),
    [
        ("slab", SLAB, mon(8), mon(12), [(mon(8), mon(9))], 1200),  # 3 h uncovered
        ("flat", {"amount": 1500}, mon(8), mon(12), [(mon(8), mon(9))], 1500),
        (
            "daily",
            {"rate": 2500},
            mon(9),
            mon(9) + timedelta(days=2),
            [(mon(0) + timedelta(days=1), mon(0) + timedelta(days=2))],
            5000,
        ),
        (
            "daily",
            {"rate": 2500, "mode": "24h"},
            mon(0),
            mon(0) + timedelta(days=3),
            [(mon(12), mon(12) + timedelta(days=1))],
            5000,
        ),
        ("tiered", TIERED, mon(8), mon(13), [(mon(9), mon(11))], 1300),  # 3 h uncovered
        ("time_of_day", TOD, mon(6), mon(9), [(mon(6), mon(7))], 3000),  # 07:00 and 08:00 at peak
    ],
)
def test_pass_coverage_for_every_strategy(strategy, config, start, end, covered, expected):
    quote = price(strategy, config, start, end, covered_intervals=covered)
    assert quote.parking_amount == expected
    assert quote.subscription_used is True
    assert quote.line_items[0].code == "pass_coverage"


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "attr"),
    [
        ({"start": datetime(2026, 3, 9, 9)}, "start"),
        ({"end": datetime(2026, 3, 9, 13)}, "end"),
        ({"end": mon(9)}, "end"),
        ({"end": mon(8)}, "end"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"context": PricingContext(covered_intervals=[(datetime(2026, 3, 9, 9), mon(10))])}, "covered_intervals"),
        ({"context": PricingContext(covered_intervals=[(mon(10), mon(9))])}, "covered_intervals"),
        ({"context": PricingContext(occupancy_ratio=-0.1)}, "occupancy_ratio"),
    ],
)
def test_unpriceable_input_is_rejected(kwargs, attr):
    arguments = {"strategy": "hourly", "config": HOURLY, "start": mon(9), "end": mon(13), "time_zone": NY, **kwargs}
    with pytest.raises(PricingInputError) as caught:
        quote_stay(**arguments)
    assert caught.value.attr == attr
    assert caught.value.code == "invalid_window"


def test_the_engine_validates_the_config():
    with pytest.raises(PricingConfigError) as caught:
        price("slab", {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 2, "price": 400}]}, mon(9), mon(10))
    assert caught.value.path == "config.slabs[1].price"


def test_stays_longer_than_the_maximum_are_refused():
    start = mon(0).astimezone(UTC)  # add in UTC: adding to a local datetime is wall-clock arithmetic
    assert price("flat", {"amount": 1}, start, start + MAX_STAY).parking_amount == 1
    with pytest.raises(StayTooLongError):
        price("flat", {"amount": 1}, start, start + MAX_STAY + timedelta(seconds=1))


# --- the quote -------------------------------------------------------------------------------------------


def test_the_quote_carries_rule_window_and_explanation():
    quote = quote_stay(
        strategy="hourly",
        config={**HOURLY, "modifiers": {"category_multipliers": {"ev": 1.2}}},
        start=mon(9),
        end=mon(13),
        time_zone=NY,
        context=PricingContext(spot_category="ev"),
        rule_name="Garage A standard",
    )
    assert quote.strategy == "hourly"
    assert quote.rule_name == "Garage A standard"
    assert quote.start == datetime(2026, 3, 9, 13, tzinfo=UTC)
    assert quote.end == datetime(2026, 3, 9, 17, tzinfo=UTC)
    assert quote.explanation == (
        "Hourly rule 'Garage A standard', 4 h in America/New_York. 4 h at 1000/h: 4000. "
        "Spot category ev ×1.2: 800. Parking amount 4800."
    )
    assert json.loads(json.dumps(quote.line_items_as_dicts())) == [
        {"code": "tariff", "description": "4 h at 1000/h", "amount": 4000},
        {"code": "category_multiplier", "description": "Spot category ev ×1.2", "amount": 800},
    ]


def test_quotes_are_immutable_and_add_up():
    quote = price("flat", {"amount": 1500}, mon(9), mon(10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        quote.parking_amount = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="sum of the line items"):
        Quote(**{**dataclasses.asdict(quote), "line_items": quote.line_items, "parking_amount": 1})
