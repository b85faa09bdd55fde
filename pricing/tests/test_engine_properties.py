"""Property-based tests of the pricing engine (hypothesis): invariants that hold for every rule and stay."""

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.engine import PricingContext, quote_stay
from pricing.money import round_half_up
from pricing.schemas import validate_config

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Zones with DST in both hemispheres, half-hour offsets and a 30-minute DST shift (Lord Howe).
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "America/St_Johns",
    "America/Havana",  # DST changes at midnight
]
# DST changes in 2026 that stays should often cross.
TRANSITIONS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York spring forward
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York fall back
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # London spring forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # London fall back
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe fall back (30 min)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe spring forward (30 min)
    datetime(2026, 3, 8, 5, tzinfo=UTC),  # Havana: midnight does not exist
    datetime(2026, 11, 1, 5, tzinfo=UTC),  # Havana: midnight happens twice
]
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)

zones = st.sampled_from(ZONES)
instants = st.one_of(
    st.integers(min_value=0, max_value=365 * 86400).map(lambda s: YEAR_START + timedelta(seconds=s)),
    st.builds(
        lambda t, s: t + timedelta(seconds=s),
        st.sampled_from(TRANSITIONS),
        st.integers(min_value=-2 * 86400, max_value=2 * 86400),
    ),
)
durations = st.one_of(
    st.integers(min_value=1, max_value=10 * 86400).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=1, max_value=3 * 1440).map(lambda m: timedelta(minutes=m)),
)
multipliers = st.decimals(min_value="0.1", max_value="3", places=2).map(float)
amounts = st.integers(min_value=0, max_value=5000)
increments = st.sampled_from([1, 5, 15, 30, 60, 90, 1440])
quarter_hours = st.integers(min_value=1, max_value=96).map(lambda q: q / 4)  # 0.25 h … 24 h, exact floats


# --- rule configs ----------------------------------------------------------------------------------------


def hourly_configs(minimum=amounts):
    return st.fixed_dictionaries({"rate": amounts, "increment_minutes": increments, "minimum": minimum})


@st.composite
def tiered_configs(draw):
    limits = sorted(draw(st.sets(quarter_hours, min_size=0, max_size=3)))
    rates = draw(st.lists(amounts, min_size=len(limits) + 1, max_size=len(limits) + 1))
    tiers = [{"up_to_hours": limit, "rate": rate} for limit, rate in zip([*limits, None], rates, strict=True)]
    return {"tiers": tiers, "increment_minutes": draw(increments)}


@st.composite
def slab_configs(draw):
    limits = sorted(draw(st.sets(quarter_hours, min_size=0, max_size=4)))
    prices = sorted(draw(st.lists(amounts, min_size=len(limits) + 1, max_size=len(limits) + 1)))
    return {"slabs": [{"max_hours": h, "price": p} for h, p in zip([*limits, None], prices, strict=True)]}


daily_configs = st.fixed_dictionaries({"rate": amounts, "mode": st.sampled_from(["calendar", "24h"])})
flat_configs = st.fixed_dictionaries({"amount": amounts})

# Non-overlapping window templates (including one past midnight and one in the small hours, where DST
# changes happen); each rule uses a subset with its own prices.
WINDOW_TEMPLATES = [
    {"days": [0, 1, 2, 3, 4], "start": "07:00", "end": "10:00"},
    {"days": [0, 1, 2, 3, 4], "start": "16:30", "end": "19:00"},
    {"days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "00:30"},
    {"days": [0, 2, 4, 6], "start": "01:00", "end": "03:00"},
    {"days": [5, 6], "start": "11:15", "end": "18:00"},
]


@st.composite
def windows(draw, rate_step=1):
    chosen = draw(st.lists(st.sampled_from(WINDOW_TEMPLATES), min_size=1, max_size=5, unique_by=lambda w: w["start"]))
    result = []
    for template in chosen:
        if rate_step == 1 and draw(st.booleans()):
            result.append({**template, "multiplier": draw(multipliers)})
        else:
            result.append({**template, "rate": draw(st.integers(min_value=0, max_value=80)) * rate_step})
    return result


@st.composite
def time_of_day_configs(draw, base=None):
    return {
        "base": {"strategy": "hourly", "config": draw(base or hourly_configs())},
        "windows": draw(windows()),
    }


@st.composite
def modifiers(draw):
    result = {}
    if draw(st.booleans()):
        result["daily_max"] = draw(st.integers(min_value=1, max_value=20000))
    if draw(st.booleans()):
        result["weekly_max"] = draw(st.integers(min_value=1, max_value=60000))
    if draw(st.booleans()):
        result["category_multipliers"] = {"ev": draw(multipliers), "vip": draw(multipliers)}
    if draw(st.booleans()):
        result["vehicle_multipliers"] = {"motorcycle": draw(multipliers)}
    if draw(st.booleans()):
        multiplier = draw(st.decimals(min_value=1, max_value=2, places=2))
        surge = {"threshold": draw(st.sampled_from([0.5, 0.8, 0.9])), "multiplier": float(multiplier)}
        if draw(st.booleans()):
            surge["max_multiplier"] = float(multiplier + draw(st.decimals(min_value=0, max_value=1, places=2)))
        result["occupancy_surge"] = surge
    return result


STRATEGY_CONFIGS = {
    "flat": flat_configs,
    "hourly": hourly_configs(),
    "tiered": tiered_configs(),
    "slab": slab_configs(),
    "daily": daily_configs,
    "time_of_day": time_of_day_configs(),
}


@st.composite
def rules(draw, strategies=tuple(STRATEGY_CONFIGS), with_modifiers=True):
    strategy = draw(st.sampled_from(strategies))
    config = dict(draw(STRATEGY_CONFIGS[strategy]))
    if with_modifiers:
        config["modifiers"] = draw(modifiers())
    validate_config(strategy, config)  # the generators only build valid rules
    return strategy, config


@st.composite
def contexts(draw, start, end):
    covered = []
    span = int((end - start).total_seconds())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        lo = draw(st.integers(min_value=-3600, max_value=span + 3600))
        length = draw(st.integers(min_value=60, max_value=max(60, span)))
        covered.append((start + timedelta(seconds=lo), start + timedelta(seconds=lo + length)))
    return PricingContext(
        vehicle_type=draw(st.sampled_from([None, "motorcycle", "standard"])),
        spot_category=draw(st.sampled_from([None, "ev", "vip", "standard"])),
        occupancy_ratio=draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=1, places=2))),
        covered_intervals=tuple(covered),
    )


def quote(strategy, config, start, end, zone, context=None):
    return quote_stay(
        strategy=strategy, config=config, start=start, end=end, time_zone=zone, context=context or PricingContext()
    )


TARIFF_AND_CAP_CODES = {"tariff", "tier", "time_window", "minimum_charge", "daily_max", "weekly_max"}


# --- properties ------------------------------------------------------------------------------------------


@PROPERTY
@given(rule=rules(), zone=zones, start=instants, duration=durations, data=st.data())
def test_every_quote_is_a_non_negative_integer_that_adds_up(rule, zone, start, duration, data):
    strategy, config = rule
    end = start + duration
    context = data.draw(contexts(start, end))
    result = quote(strategy, config, start, end, zone, context)

    assert isinstance(result.parking_amount, int)
    assert result.parking_amount >= 0
    assert result.parking_amount == sum(item.amount for item in result.line_items)
    assert all(isinstance(item.amount, int) for item in result.line_items)
    # the per-day tariff is the tariff after caps, before multipliers
    capped_tariff = sum(item.amount for item in result.line_items if item.code in TARIFF_AND_CAP_CODES)
    assert sum(day.amount for day in result.tariff_by_day) == capped_tariff
    assert all(day.amount >= 0 for day in result.tariff_by_day)
    assert result.subscription_used == (result.covered > timedelta(0))
    assert result.elapsed == end - start
    if result.covered == result.elapsed:
        assert result.parking_amount == 0
        assert [item.code for item in result.line_items] == ["pass_coverage"]


@PROPERTY
@given(rule=rules(), zone=zones, start=instants, duration=durations, extra=durations, data=st.data())
def test_a_longer_stay_never_costs_less(rule, zone, start, duration, extra, data):
    strategy, config = rule
    context = data.draw(contexts(start, start + duration))
    shorter = quote(strategy, config, start, start + duration, zone, context)
    longer = quote(strategy, config, start, start + duration + extra, zone, context)
    assert longer.parking_amount >= shorter.parking_amount


@PROPERTY
@given(
    rule=rules(strategies=("hourly", "slab"), with_modifiers=False),
    zone=zones,
    start=instants,
    durations=st.lists(durations, min_size=2, max_size=6),
)
def test_slab_and_hourly_prices_never_decrease_with_length(rule, zone, start, durations):
    strategy, config = rule
    prices = [quote(strategy, config, start, start + d, zone).parking_amount for d in sorted(durations)]
    assert prices == sorted(prices)


@PROPERTY
@given(
    rule=rules(strategies=("hourly", "tiered", "time_of_day", "daily", "flat")),
    daily_max=st.integers(min_value=1, max_value=8000),
    weekly_max=st.one_of(st.none(), st.integers(min_value=1, max_value=30000)),
    zone=zones,
    start=instants,
    duration=durations,
    data=st.data(),
)
def test_daily_and_weekly_caps_are_never_exceeded_on_any_local_day(
    rule, daily_max, weekly_max, zone, start, duration, data
):
    strategy, config = rule
    config = {**config, "modifiers": {"daily_max": daily_max}}
    if weekly_max is not None:
        config["modifiers"]["weekly_max"] = weekly_max
    end = start + duration
    result = quote(strategy, config, start, end, zone, data.draw(contexts(start, end)))

    local = ZoneInfo(zone)
    expected_days = []
    day = start.astimezone(local).date()
    while day <= (end - timedelta(microseconds=1)).astimezone(local).date():
        expected_days.append(day)
        day += timedelta(days=1)
    assert [d.day for d in result.tariff_by_day] == expected_days
    assert all(d.amount <= daily_max for d in result.tariff_by_day)
    if weekly_max is not None:
        weeks = {}
        for d in result.tariff_by_day:
            weeks[d.day.isocalendar()[:2]] = weeks.get(d.day.isocalendar()[:2], 0) + d.amount
        assert all(total <= weekly_max for total in weeks.values())


@contextmanager
def server_time_zone(name):
    previous = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


offsets = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))


@settings(max_examples=100, deadline=None)
@given(
    rule=rules(),
    zone=zones,
    start=instants,
    duration=durations,
    server_zones=st.lists(
        st.sampled_from(["UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Tehran"]), min_size=2, max_size=2
    ),
    start_offset=offsets,
    end_offset=offsets,
    data=st.data(),
)
def test_the_quote_depends_on_instants_only_not_the_server_zone_or_offsets(
    rule, zone, start, duration, server_zones, start_offset, end_offset, data
):
    strategy, config = rule
    end = start + duration
    context = data.draw(contexts(start, end))
    with server_time_zone(server_zones[0]):
        reference = quote(strategy, config, start, end, zone, context)
    with server_time_zone(server_zones[1]):
        shifted = quote(strategy, config, start.astimezone(start_offset), end.astimezone(end_offset), zone, context)
        in_zone = quote(
            strategy, config, start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone)), zone, context
        )
    assert shifted == reference
    assert in_zone == reference


per_minute_hourly = st.fixed_dictionaries(
    {"rate": st.integers(min_value=0, max_value=100).map(lambda n: 60 * n), "increment_minutes": st.just(1)}
)


@st.composite
def per_minute_rules(draw):
    """Rules where every minute costs a whole number of minor units, so no rounding happens."""
    if draw(st.booleans()):
        return "hourly", draw(per_minute_hourly)
    return "time_of_day", {
        "base": {"strategy": "hourly", "config": draw(per_minute_hourly)},
        "windows": draw(windows(rate_step=60)),
    }


@PROPERTY
@given(
    rule=per_minute_rules(),
    zone=zones,
    a=instants,
    minutes=st.integers(min_value=1, max_value=5 * 1440),
    rest=durations,
)
def test_splitting_at_a_minute_boundary_does_not_change_the_total(rule, zone, a, minutes, rest):
    strategy, config = rule
    b = a + timedelta(minutes=minutes)
    c = b + rest
    whole = quote(strategy, config, a, c, zone).parking_amount
    assert (
        quote(strategy, config, a, b, zone).parking_amount + quote(strategy, config, b, c, zone).parking_amount == whole
    )


@PROPERTY
@given(
    rule=per_minute_rules(),
    zone=zones,
    a=instants,
    minutes=st.integers(min_value=1, max_value=3 * 1440),
    gap=durations,
    rest=durations,
)
def test_a_pass_removes_exactly_the_minutes_it_covers(rule, zone, a, minutes, gap, rest):
    strategy, config = rule
    b1 = a + timedelta(minutes=minutes)
    b2 = b1 + gap
    c = b2 + rest
    covered = quote(strategy, config, a, c, zone, PricingContext(covered_intervals=[(b1, b2)]))
    apart = quote(strategy, config, a, b1, zone).parking_amount + quote(strategy, config, b2, c, zone).parking_amount
    assert covered.parking_amount == apart
    assert covered.subscription_used is True


@PROPERTY
@given(
    rule=rules(strategies=("hourly", "tiered", "slab", "daily", "flat"), with_modifiers=False),
    zone=zones,
    start=instants,
    duration=durations,
    data=st.data(),
)
def test_a_pass_never_makes_a_stay_dearer(rule, zone, start, duration, data):
    strategy, config = rule
    end = start + duration
    context = data.draw(contexts(start, end))
    assert (
        quote(strategy, config, start, end, zone, context).parking_amount
        <= quote(strategy, config, start, end, zone).parking_amount
    )


@PROPERTY
@given(rule=rules(), zone=zones, start=instants, duration=durations, before=durations, after=durations)
def test_a_fully_covered_stay_is_free(rule, zone, start, duration, before, after):
    strategy, config = rule
    context = PricingContext(covered_intervals=[(start - before, start + duration + after)])
    result = quote(strategy, config, start, start + duration, zone, context)
    assert result.parking_amount == 0
    assert result.subscription_used is True
    assert [item.code for item in result.line_items] == ["pass_coverage"]


@PROPERTY
@given(
    rule=rules(strategies=("hourly", "tiered", "slab"), with_modifiers=False),
    zone=zones,
    start=instants,
    duration=durations,
)
def test_elapsed_time_strategies_bill_real_time_whatever_the_zone(rule, zone, start, duration):
    # across DST changes a stay bills its real elapsed time: exactly what it bills in UTC
    strategy, config = rule
    local = quote(strategy, config, start, start + duration, zone)
    utc = quote(strategy, config, start, start + duration, "UTC")
    assert local.line_items == utc.line_items


@PROPERTY
@given(config=hourly_configs(), zone=zones, start=instants, duration=durations)
def test_hourly_is_the_documented_formula(config, zone, start, duration):
    increment_us = config["increment_minutes"] * 60_000_000
    billed_minutes = -(-(duration // timedelta(microseconds=1)) // increment_us) * config["increment_minutes"]
    expected = max(config["minimum"], round_half_up(config["rate"] * billed_minutes, 60))
    assert quote("hourly", config, start, start + duration, zone).parking_amount == expected
