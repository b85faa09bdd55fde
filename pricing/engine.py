"""The pricing engine: a pure function from (rule, window, time zone, context) to an itemised quote.

No database, no Django: the caller loads the rule, the facility's time zone and the driver's active pass
intervals, and turns :class:`PricingError` subclasses into API errors. Discounts and platform fees are
applied afterwards by :mod:`pricing.fees`.

Units and rules (the full description with worked examples is ``docs/pricing.md``):

* **Money** is an ``int`` of minor units; every line item is rounded once, half-up
  (:mod:`pricing.money`). An hourly line is ``round_half_up(rate × billed_minutes, 60)``.
* **Time**: ``start``/``end`` must be aware; the window is ``[start, end)``. Durations are real elapsed
  time between UTC instants, so a stay across a DST change bills what the clock on the wall did not
  (01:00–04:00 on a spring-forward night is 2 h). Calendar days, ISO weeks and time-of-day windows
  follow the facility's local wall clock (``zoneinfo``).
* **Increments**: hourly-like tariffs bill every started ``increment_minutes`` of the *uncovered*
  time in full, counted from the first uncovered instant; a time-of-day increment is charged at the rate
  in force (local wall clock) at the instant it starts.
* **Passes**: ``PricingContext.covered_intervals`` are removed from the window first; the tariff prices
  the uncovered rest (see each tariff for how), and ``subscription_used`` says whether anything was
  covered. A fully covered stay is a single 0 line item.
* **Modifiers** (``config["modifiers"]``): caps on the tariff first — ``daily_max`` per local calendar
  day, then ``weekly_max`` per local ISO week — then multipliers on the capped amount, each on the
  running subtotal: spot category, vehicle type, occupancy surge. Each modifier that changes the amount
  is its own line item (negative for caps and discounting multipliers).

Caps need the tariff per local day: the stay is cut at local midnights and each day is attributed the
increase of the running price ``P(t)`` (the price of the uncovered time before ``t``) over that day.
Every tariff's ``P`` never decreases, so each day's share is ≥ 0 and the shares add up to the tariff.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .money import Factor, apply_multiplier, round_half_up, to_fraction
from .schemas import WEEKDAY_NAMES, PricingConfigError, PricingError, validate_config, window_week_ranges

__all__ = [
    "MAX_STAY",
    "DayAmount",
    "LineCode",
    "LineItem",
    "PricingConfigError",
    "PricingContext",
    "PricingError",
    "PricingInputError",
    "Quote",
    "StayTooLongError",
    "quote_stay",
]

#: The longest window the engine prices (bounded work per request).
MAX_STAY: Final = timedelta(days=366)

_US: Final = timedelta(microseconds=1)
_MINUTE_US: Final = 60_000_000
_HOUR_US: Final = 60 * _MINUTE_US
_DAY_US: Final = 24 * _HOUR_US
_WEEK_US: Final = 7 * _DAY_US
# Longest step of the time-of-day walk between two checks for a UTC-offset change (no zone changes
# its offset twice within 6 hours).
_MAX_STEP_US: Final = 6 * _HOUR_US


class PricingInputError(PricingError):
    """A window, time zone or context the engine cannot price (naive datetime, end not after start…)."""

    code = "invalid_window"


class StayTooLongError(PricingError):
    """The stay is longer than the rule prices (a slab/tier list whose last item has a limit) or than
    :data:`MAX_STAY`."""

    code = "stay_too_long"


class LineCode(StrEnum):
    """Stable machine codes of line items."""

    TARIFF = "tariff"  # the strategy's own charge (hourly, flat, slab, daily)
    TIER = "tier"  # one tier of a tiered rule
    TIME_WINDOW = "time_window"  # one rate bucket of a time-of-day rule (the base rate or a window)
    MINIMUM_CHARGE = "minimum_charge"  # top-up to an hourly rule's minimum
    PASS_COVERAGE = "pass_coverage"  # noqa: S105 (not a secret) informational, amount 0
    DAILY_MAX = "daily_max"
    WEEKLY_MAX = "weekly_max"
    CATEGORY_MULTIPLIER = "category_multiplier"
    VEHICLE_MULTIPLIER = "vehicle_multiplier"
    OCCUPANCY_SURGE = "occupancy_surge"


@dataclass(frozen=True)
class LineItem:
    """One line of a quote: ``amount`` in minor units (negative for caps and discounting multipliers)."""

    code: str
    description: str
    amount: int

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "description": self.description, "amount": self.amount}


@dataclass(frozen=True)
class DayAmount:
    """The tariff (minor units, after daily/weekly caps, before multipliers) attributed to one local day."""

    day: date
    amount: int


@dataclass(frozen=True)
class PricingContext:
    """What the engine needs to know beyond the window.

    ``occupancy_ratio`` is occupied/total spots (0–1) or None when unknown (no surge);
    ``covered_intervals`` are ``(start, end)`` pairs of aware datetimes from the driver's active passes,
    already restricted to when each pass is valid (weekdays, hours); they may overlap.
    """

    vehicle_type: str | None = None
    spot_category: str | None = None
    occupancy_ratio: Factor | None = None
    covered_intervals: Sequence[tuple[datetime, datetime]] = field(default_factory=tuple)


@dataclass(frozen=True)
class Quote:
    """An itemised parking price. ``parking_amount`` (minor units) is the sum of ``line_items``.

    ``start``/``end`` are UTC; ``elapsed`` is real elapsed time, ``covered`` the part covered by passes;
    ``tariff_by_day`` is the tariff per local calendar day after caps and before multipliers.
    """

    strategy: str
    rule_name: str | None
    time_zone: str
    start: datetime
    end: datetime
    line_items: tuple[LineItem, ...]
    parking_amount: int
    subscription_used: bool
    elapsed: timedelta
    covered: timedelta
    tariff_by_day: tuple[DayAmount, ...]
    explanation: str

    def __post_init__(self) -> None:
        if self.parking_amount != sum(item.amount for item in self.line_items):
            raise ValueError("parking_amount must equal the sum of the line items")
        if self.parking_amount < 0:
            raise ValueError("parking_amount must be non-negative")

    def line_items_as_dicts(self) -> list[dict[str, Any]]:
        """The line items as JSON-ready dicts (``code``, ``description``, ``amount``)."""
        return [item.as_dict() for item in self.line_items]


# --- formatting ----------------------------------------------------------------------------------------


def _fmt_duration(us: int) -> str:
    """``4 h``, ``1 h 15 min``, ``45 min``, ``1 h 0 min 30 s`` (microseconds are not shown)."""
    seconds = us // 1_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes or (hours and secs):
        parts.append(f"{minutes} min")
    if secs:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 min"


def _fmt_factor(value: Fraction) -> str:
    """A multiplier or rate for people: ``1.5``, ``1500``, ``1498.5``, ``2.1429`` (descriptions only)."""
    if value.denominator == 1:
        return str(value.numerator)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    text = format(exact.quantize(Decimal("0.0001")).normalize(), "f")
    return text


def _fmt_days(days: Sequence[int]) -> str:
    """``[0, 1, 2, 3, 4]`` → ``Mon–Fri``, ``[5, 6, 0]`` → ``Mon, Sat–Sun``, all seven → ``every day``."""
    ordered = sorted(set(days))
    if len(ordered) == 7:
        return "every day"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        WEEKDAY_NAMES[run[0]] if len(run) == 1 else f"{WEEKDAY_NAMES[run[0]]}–{WEEKDAY_NAMES[run[-1]]}" for run in runs
    )


# --- the billable timeline -----------------------------------------------------------------------------


def _aware(value: datetime, attr: str) -> datetime:
    if not isinstance(value, datetime):
        raise PricingInputError("Must be a datetime.", attr=attr)
    if value.tzinfo is None or value.utcoffset() is None:
        raise PricingInputError("Give the time with a UTC offset (naive datetimes are ambiguous).", attr=attr)
    return value.astimezone(UTC)


def _us(delta: timedelta) -> int:
    return delta // _US


class _Timeline:
    """The uncovered (billable) intervals of the stay in UTC, and the billable offset of any instant."""

    def __init__(self, start: datetime, end: datetime, covered: Sequence[tuple[datetime, datetime]]) -> None:
        merged: list[tuple[datetime, datetime]] = []
        for lo, hi in sorted((max(a, start), min(b, end)) for a, b in covered):
            if lo >= hi:
                continue
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        self.covered_us = sum(_us(hi - lo) for lo, hi in merged)
        uncovered: list[tuple[datetime, datetime]] = []
        cursor = start
        for lo, hi in merged:
            if cursor < lo:
                uncovered.append((cursor, lo))
            cursor = hi
        if cursor < end:
            uncovered.append((cursor, end))
        self.intervals = uncovered
        self.starts = [lo for lo, _ in uncovered]
        self.offsets: list[int] = []  # billable µs before each interval
        total = 0
        for lo, hi in uncovered:
            self.offsets.append(total)
            total += _us(hi - lo)
        self.total_us = total

    def offset_at(self, instant: datetime) -> int:
        """Billable microseconds in ``[start, instant)``."""
        index = bisect.bisect_right(self.starts, instant) - 1
        if index < 0:
            return 0
        lo, hi = self.intervals[index]
        return self.offsets[index] + _us(min(instant, hi) - lo)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) whose local wall clock reads ``day`` 00:00 (``fold=0``); where midnight
    falls in a DST gap, the transition itself."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- tariffs -------------------------------------------------------------------------------------------


class _Tariff(Protocol):
    def lines(self) -> list[LineItem]:
        """Line items of the whole uncovered stay (amounts ≥ 0; their sum is ``amount_until(end)``)."""
        ...

    def amount_until(self, instant: datetime) -> int:
        """The tariff for the uncovered time before ``instant``; never decreases as ``instant`` grows."""
        ...


class _Flat:
    """``amount`` when any part of the stay is uncovered, else 0."""

    def __init__(self, config: Mapping[str, Any], timeline: _Timeline) -> None:
        self.amount, self.timeline = int(config["amount"]), timeline

    def amount_until(self, instant: datetime) -> int:
        return self.amount if self.timeline.offset_at(instant) > 0 else 0

    def lines(self) -> list[LineItem]:
        return [
            LineItem(LineCode.TARIFF, f"Flat rate for a stay of {_fmt_duration(self.timeline.total_us)}", self.amount)
        ]


class _Hourly:
    """``round_half_up(rate × billed_minutes, 60)``, billed minutes = started increments of the uncovered
    time; at least ``minimum`` when anything is billed."""

    def __init__(self, config: Mapping[str, Any], timeline: _Timeline) -> None:
        self.rate = int(config["rate"])
        self.increment = int(config.get("increment_minutes", 60))
        self.minimum = int(config.get("minimum", 0))
        self.timeline = timeline

    def _billed_minutes(self, offset_us: int) -> int:
        return _ceil_div(offset_us, self.increment * _MINUTE_US) * self.increment

    def _base(self, offset_us: int) -> int:
        return round_half_up(self.rate * self._billed_minutes(offset_us), 60)

    def amount_until(self, instant: datetime) -> int:
        offset = self.timeline.offset_at(instant)
        return max(self.minimum, self._base(offset)) if offset > 0 else 0

    def lines(self) -> list[LineItem]:
        actual = self.timeline.total_us
        billed = self._billed_minutes(actual)
        base = self._base(actual)
        if billed * _MINUTE_US == actual:
            text = f"{_fmt_duration(actual)} at {self.rate}/h"
        else:
            text = (
                f"{_fmt_duration(actual)} billed as {_fmt_duration(billed * _MINUTE_US)} "
                f"({self.increment}-min increments) at {self.rate}/h"
            )
        items = [LineItem(LineCode.TARIFF, text, base)]
        if self.minimum > base:
            items.append(LineItem(LineCode.MINIMUM_CHARGE, f"Minimum charge {self.minimum}", self.minimum - base))
        return items


class _Tiered:
    """Billed minutes (started increments of the uncovered time) split over cumulative tiers; one line per
    tier, ``round_half_up(rate × minutes_in_tier, 60)``."""

    def __init__(self, config: Mapping[str, Any], timeline: _Timeline) -> None:
        self.increment = int(config.get("increment_minutes", 60))
        self.timeline = timeline
        self.tiers: list[tuple[int, int | None, int]] = []  # (from minute, to minute or None, rate)
        lower = 0
        for tier in config["tiers"]:
            limit = tier["up_to_hours"]
            upper = None if limit is None else int(Decimal(str(limit)) * 60)
            self.tiers.append((lower, upper, int(tier["rate"])))
            lower = upper if upper is not None else lower
        last_upper = self.tiers[-1][1]
        billed = self._billed_minutes(timeline.total_us)
        if last_upper is not None and billed > last_upper:
            raise StayTooLongError(
                f"The rule prices stays of at most {_fmt_duration(last_upper * _MINUTE_US)} "
                f"(this one bills {_fmt_duration(billed * _MINUTE_US)}).",
                attr="end",
            )

    def _billed_minutes(self, offset_us: int) -> int:
        return _ceil_div(offset_us, self.increment * _MINUTE_US) * self.increment

    def _split(self, offset_us: int) -> list[tuple[int, int]]:
        billed = self._billed_minutes(offset_us)
        parts = []
        for lower, upper, rate in self.tiers:
            minutes = max(0, (billed if upper is None else min(billed, upper)) - lower)
            parts.append((minutes, round_half_up(rate * minutes, 60)))
        return parts

    def amount_until(self, instant: datetime) -> int:
        return sum(amount for _, amount in self._split(self.timeline.offset_at(instant)))

    def _label(self, index: int) -> str:
        lower, upper, _ = self.tiers[index]
        if upper is None:
            return "all hours" if lower == 0 else f"after {_fmt_duration(lower * _MINUTE_US)}"
        if lower == 0:
            return f"first {_fmt_duration(upper * _MINUTE_US)}"
        return f"{_fmt_duration(lower * _MINUTE_US)} to {_fmt_duration(upper * _MINUTE_US)}"

    def lines(self) -> list[LineItem]:
        items = []
        for index, (minutes, amount) in enumerate(self._split(self.timeline.total_us)):
            if minutes:
                rate = self.tiers[index][2]
                text = f"Tier {index + 1} ({self._label(index)}): {_fmt_duration(minutes * _MINUTE_US)} at {rate}/h"
                items.append(LineItem(LineCode.TIER, text, amount))
        return items


class _Slab:
    """The price of the first slab whose ``max_hours`` covers the uncovered duration (exactly: 1 h is in a
    1-h slab, 1 h 0 min 1 s is not); 0 when nothing is uncovered."""

    def __init__(self, config: Mapping[str, Any], timeline: _Timeline) -> None:
        self.timeline = timeline
        self.slabs: list[tuple[int | None, int]] = []  # (limit µs or None, price)
        for slab in config["slabs"]:
            limit = slab["max_hours"]
            self.slabs.append(
                (None if limit is None else int(Decimal(str(limit)) * 60) * _MINUTE_US, int(slab["price"]))
            )
        last = self.slabs[-1][0]
        if last is not None and timeline.total_us > last:
            raise StayTooLongError(
                f"The rule prices stays of at most {_fmt_duration(last)} "
                f"(this one is {_fmt_duration(timeline.total_us)} not covered by a pass).",
                attr="end",
            )

    def _slab(self, offset_us: int) -> int:
        return next(index for index, (limit, _) in enumerate(self.slabs) if limit is None or offset_us <= limit)

    def amount_until(self, instant: datetime) -> int:
        offset = self.timeline.offset_at(instant)
        return self.slabs[self._slab(offset)][1] if offset > 0 else 0

    def lines(self) -> list[LineItem]:
        total = self.timeline.total_us
        index = self._slab(total)
        limit, price = self.slabs[index]
        if limit is not None:
            label = f"Slab up to {_fmt_duration(limit)}"
        elif index:
            label = f"Slab over {_fmt_duration(self.slabs[index - 1][0] or 0)}"
        else:
            label = "Slab (any length)"
        return [LineItem(LineCode.TARIFF, f"{label} for a stay of {_fmt_duration(total)}", price)]


class _Daily:
    """``calendar``: ``rate`` per local calendar day touched by uncovered time; ``24h``: ``rate`` per
    started 24 h of uncovered elapsed time."""

    def __init__(self, config: Mapping[str, Any], timeline: _Timeline, zone: ZoneInfo) -> None:
        self.rate = int(config["rate"])
        self.mode = str(config.get("mode", "calendar"))
        self.timeline = timeline
        # calendar: the first uncovered instant of every local day the uncovered time touches, sorted.
        firsts: dict[date, datetime] = {}
        for lo, hi in timeline.intervals if self.mode == "calendar" else ():
            first, last = lo.astimezone(zone).date(), (hi - _US).astimezone(zone).date()
            firsts.setdefault(first, lo)
            for n in range(1, (last - first).days + 1):
                firsts.setdefault(first + timedelta(days=n), _midnight(first + timedelta(days=n), zone))
        self.day_firsts = sorted(firsts.values())

    def _count(self, instant: datetime) -> int:
        if self.mode == "24h":
            return _ceil_div(self.timeline.offset_at(instant), _DAY_US)
        return bisect.bisect_left(self.day_firsts, instant)

    def amount_until(self, instant: datetime) -> int:
        return self.rate * self._count(instant)

    def lines(self) -> list[LineItem]:
        count = self._count(self.timeline.intervals[-1][1])
        unit = "started 24-h period" if self.mode == "24h" else "calendar day"
        return [
            LineItem(
                LineCode.TARIFF, f"{count} {unit}{'s' if count != 1 else ''} at {self.rate}/day", self.rate * count
            )
        ]


@dataclass(frozen=True)
class _Bucket:
    label: str
    rate: Fraction  # minor units per hour


class _TimeOfDay:
    """An hourly base with local-time windows. Each started increment of the uncovered time is charged
    at the rate in force (local wall clock) when it starts; one line per rate bucket,
    ``round_half_up(bucket_rate × billed_minutes, 60)``; the base ``minimum`` applies to the sum."""

    def __init__(self, config: Mapping[str, Any], timeline: _Timeline, zone: ZoneInfo) -> None:
        base = config["base"]["config"]
        self.increment_us = int(base.get("increment_minutes", 60)) * _MINUTE_US
        self.minimum = int(base.get("minimum", 0))
        base_rate = Fraction(int(base["rate"]))
        self.buckets = [_Bucket("Standard rate", base_rate)]
        pieces: list[tuple[int, int, int]] = []  # (from µs of week, to µs of week, bucket)
        for index, window in enumerate(config["windows"]):
            if "multiplier" in window:
                multiplier = to_fraction(window["multiplier"])
                rate, how = base_rate * multiplier, f"×{_fmt_factor(multiplier)}"
            else:
                rate, how = Fraction(int(window["rate"])), f"{window['rate']}/h"
            days = _fmt_days(window["days"])
            name = window.get("name") or f"Window {index + 1}"
            label = f"{name} ({days} {window['start']}–{window['end']}, {how})"
            self.buckets.append(_Bucket(label, rate))
            pieces.extend((lo * _MINUTE_US, hi * _MINUTE_US, index + 1) for lo, hi in window_week_ranges(window))
        # A partition of the week into (start, end, bucket), gaps at the base rate.
        self.partition: list[tuple[int, int, int]] = []
        cursor = 0
        for lo, hi, bucket in sorted(pieces):
            if cursor < lo:
                self.partition.append((cursor, lo, 0))
            self.partition.append((lo, hi, bucket))
            cursor = hi
        if cursor < _WEEK_US:
            self.partition.append((cursor, _WEEK_US, 0))
        self.partition_starts = [lo for lo, _, _ in self.partition]
        self.zone, self.timeline = zone, timeline
        self._build_segments()

    def _bucket_at(self, local: datetime) -> tuple[int, int]:
        """The bucket of a local wall-clock time and the µs of wall time until the bucket may change."""
        week_us = (
            ((local.weekday() * 24 + local.hour) * 60 + local.minute) * 60 + local.second
        ) * 1_000_000 + local.microsecond
        index = bisect.bisect_right(self.partition_starts, week_us) - 1
        _, hi, bucket = self.partition[index]
        return bucket, hi - week_us

    def _transition(self, lo: datetime, hi: datetime) -> datetime:
        """The first instant in ``(lo, hi]`` whose UTC offset differs from ``lo``'s (one exists)."""
        offset = lo.astimezone(self.zone).utcoffset()
        low, high = 0, _us(hi - lo)
        while high - low > 1:
            mid = (low + high) // 2
            if (lo + timedelta(microseconds=mid)).astimezone(self.zone).utcoffset() == offset:
                low = mid
            else:
                high = mid
        return lo + timedelta(microseconds=high)

    def _pieces(self, lo: datetime, hi: datetime) -> Iterator[tuple[datetime, datetime, int]]:
        """Split ``[lo, hi)`` (UTC) into pieces of constant bucket."""
        cursor = lo
        while cursor < hi:
            local = cursor.astimezone(self.zone)
            bucket, wall_us = self._bucket_at(local)
            step = min(wall_us, _MAX_STEP_US)
            nxt = min(hi, cursor + timedelta(microseconds=step))
            # Wall time runs with UTC only while the offset stays put: stop at a DST change.
            if nxt.astimezone(self.zone).utcoffset() != local.utcoffset():
                nxt = self._transition(cursor, nxt)
            yield cursor, nxt, bucket
            cursor = nxt

    def _build_segments(self) -> None:
        """Segments of the billable timeline: (from offset, to offset, bucket), adjacent same-bucket merged,
        with cumulative per-bucket increment counts before each segment."""
        segments: list[list[int]] = []
        for (lo, hi), offset in zip(self.timeline.intervals, self.timeline.offsets, strict=True):
            for a, b, bucket in self._pieces(lo, hi):
                seg_lo, seg_hi = offset + _us(a - lo), offset + _us(b - lo)
                if segments and segments[-1][2] == bucket and segments[-1][1] == seg_lo:
                    segments[-1][1] = seg_hi
                else:
                    segments.append([seg_lo, seg_hi, bucket])
        self.segments = [(seg[0], seg[1], seg[2]) for seg in segments]
        self.segment_starts = [seg[0] for seg in self.segments]
        self.cumulative: list[list[int]] = []
        counts = [0] * len(self.buckets)
        for seg_lo, seg_hi, bucket in self.segments:
            self.cumulative.append(list(counts))
            counts[bucket] += self._starts_in(seg_lo, seg_hi)

    def _starts_in(self, lo: int, hi: int) -> int:
        """Increments starting at a billable offset in ``[lo, hi)``."""
        return _ceil_div(hi, self.increment_us) - _ceil_div(lo, self.increment_us)

    def _counts(self, offset_us: int) -> list[int]:
        """Per-bucket count of increments starting before ``offset_us``."""
        index = bisect.bisect_left(self.segment_starts, offset_us) - 1
        if index < 0:
            return [0] * len(self.buckets)
        counts = list(self.cumulative[index])
        lo, hi, bucket = self.segments[index]
        counts[bucket] += self._starts_in(lo, min(hi, offset_us))
        return counts

    def _amounts(self, counts: Sequence[int]) -> list[int]:
        minutes_per = self.increment_us // _MINUTE_US
        return [
            round_half_up(bucket.rate.numerator * count * minutes_per, bucket.rate.denominator * 60)
            for bucket, count in zip(self.buckets, counts, strict=True)
        ]

    def amount_until(self, instant: datetime) -> int:
        offset = self.timeline.offset_at(instant)
        if offset == 0:
            return 0
        return max(self.minimum, sum(self._amounts(self._counts(offset))))

    def lines(self) -> list[LineItem]:
        counts = self._counts(self.timeline.total_us)
        amounts = self._amounts(counts)
        minutes_per = self.increment_us // _MINUTE_US
        items = [
            LineItem(
                LineCode.TIME_WINDOW,
                f"{bucket.label}: {_fmt_duration(count * self.increment_us)} at {_fmt_factor(bucket.rate)}/h",
                amount,
            )
            for bucket, count, amount in zip(self.buckets, counts, amounts, strict=True)
            if count
        ]
        base = sum(amounts)
        if self.minimum > base:
            items.append(LineItem(LineCode.MINIMUM_CHARGE, f"Minimum charge {self.minimum}", self.minimum - base))
        if minutes_per and items:
            # Say once how increments were counted (kept in the first line's description).
            first = items[0]
            items[0] = LineItem(first.code, f"{first.description} ({minutes_per}-min increments)", first.amount)
        return items


def _tariff(strategy: str, config: Mapping[str, Any], timeline: _Timeline, zone: ZoneInfo) -> _Tariff:
    if strategy == "flat":
        return _Flat(config, timeline)
    if strategy == "hourly":
        return _Hourly(config, timeline)
    if strategy == "tiered":
        return _Tiered(config, timeline)
    if strategy == "slab":
        return _Slab(config, timeline)
    if strategy == "daily":
        return _Daily(config, timeline, zone)
    return _TimeOfDay(config, timeline, zone)


# --- caps and multipliers ------------------------------------------------------------------------------


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The local calendar days the stay touches, each with its part of ``[start, end)`` in UTC.

    A day starts at the first instant its wall clock reads 00:00 (``fold=0``; where midnight falls in a
    DST gap, at the transition)."""
    first = start.astimezone(zone).date()
    last = (end - _US).astimezone(zone).date()
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        lo, hi = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
        days.append((day, max(lo, start), min(hi, end)))
    return days


def _cap(
    tariff: _Tariff, days: Sequence[tuple[date, datetime, datetime]], modifiers: Mapping[str, Any]
) -> tuple[list[DayAmount], list[LineItem]]:
    """Attribute the tariff to local days and apply ``daily_max`` then ``weekly_max``."""
    shares = []
    previous = 0
    for day, _, hi in days:
        current = tariff.amount_until(hi)
        shares.append((day, current - previous))
        previous = current
    daily_max, weekly_max = modifiers.get("daily_max"), modifiers.get("weekly_max")
    items: list[LineItem] = []
    capped = [(day, min(amount, daily_max) if daily_max is not None else amount) for day, amount in shares]
    daily_cut = sum(amount for _, amount in shares) - sum(amount for _, amount in capped)
    if daily_cut:
        days_capped = sum(1 for (_, a), (_, b) in zip(shares, capped, strict=True) if a != b)
        items.append(
            LineItem(
                LineCode.DAILY_MAX,
                f"Daily maximum {daily_max} per local day (reached on {days_capped} day{'s' if days_capped != 1 else ''})",
                -daily_cut,
            )
        )
    final = capped
    if weekly_max is not None:
        used: dict[tuple[int, int], int] = {}
        final = []
        for day, amount in capped:
            week = day.isocalendar()[:2]
            allowed = min(amount, max(0, weekly_max - used.get(week, 0)))
            used[week] = used.get(week, 0) + allowed
            final.append((day, allowed))
        weekly_cut = sum(amount for _, amount in capped) - sum(amount for _, amount in final)
        if weekly_cut:
            items.append(LineItem(LineCode.WEEKLY_MAX, f"Weekly maximum {weekly_max} per ISO week", -weekly_cut))
    return [DayAmount(day, amount) for day, amount in final], items


def _multipliers(amount: int, modifiers: Mapping[str, Any], context: PricingContext) -> list[LineItem]:
    """Category, vehicle and surge multipliers, each on the running subtotal, rounded half-up once."""
    items: list[LineItem] = []
    running = amount
    combined = Fraction(1)

    def apply(code: LineCode, text: str, factor: Fraction) -> None:
        nonlocal running
        new = apply_multiplier(running, factor)
        if new != running:
            items.append(LineItem(code, text, new - running))
        running = new

    category = modifiers.get("category_multipliers", {})
    if context.spot_category is not None and context.spot_category in category:
        factor = to_fraction(category[context.spot_category])
        combined *= factor
        apply(LineCode.CATEGORY_MULTIPLIER, f"Spot category {context.spot_category} ×{_fmt_factor(factor)}", factor)
    vehicle = modifiers.get("vehicle_multipliers", {})
    if context.vehicle_type is not None and context.vehicle_type in vehicle:
        factor = to_fraction(vehicle[context.vehicle_type])
        combined *= factor
        apply(LineCode.VEHICLE_MULTIPLIER, f"Vehicle type {context.vehicle_type} ×{_fmt_factor(factor)}", factor)
    surge = modifiers.get("occupancy_surge")
    if surge and context.occupancy_ratio is not None:
        occupancy = to_fraction(context.occupancy_ratio)
        threshold = to_fraction(surge["threshold"])
        if occupancy > threshold:
            factor = to_fraction(surge["multiplier"])
            text = f"Occupancy {_fmt_factor(occupancy * 100)} % above {_fmt_factor(threshold * 100)} %: ×{_fmt_factor(factor)}"
            if "max_multiplier" in surge:
                ceiling = to_fraction(surge["max_multiplier"])
                capped = max(Fraction(1), min(factor, ceiling / combined))
                if capped != factor:
                    text += f", limited to ×{_fmt_factor(capped)} (combined maximum ×{_fmt_factor(ceiling)})"
                factor = capped
            apply(LineCode.OCCUPANCY_SURGE, text, factor)
    return items


# --- the entry point -----------------------------------------------------------------------------------

_STRATEGY_LABELS: Final = {
    "flat": "Flat",
    "hourly": "Hourly",
    "tiered": "Tiered hourly",
    "slab": "Slab",
    "daily": "Daily",
    "time_of_day": "Time of day",
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise PricingInputError(f"Unknown time zone {name!r}.", attr="time_zone") from exc


def _context(context: PricingContext) -> list[tuple[datetime, datetime]]:
    covered = []
    for lo, hi in context.covered_intervals:
        lo_utc, hi_utc = _aware(lo, "covered_intervals"), _aware(hi, "covered_intervals")
        if hi_utc < lo_utc:
            raise PricingInputError("A covered interval ends before it starts.", attr="covered_intervals")
        covered.append((lo_utc, hi_utc))
    if context.occupancy_ratio is not None and to_fraction(context.occupancy_ratio) < 0:
        raise PricingInputError("The occupancy ratio must not be negative.", attr="occupancy_ratio")
    return covered


def quote_stay(
    *,
    strategy: str,
    config: Mapping[str, Any],
    start: datetime,
    end: datetime,
    time_zone: str,
    context: PricingContext | None = None,
    rule_name: str | None = None,
) -> Quote:
    """Price the stay ``[start, end)`` under one rule; amounts in minor units.

    ``strategy``/``config`` are a rule as stored (validated again here: :class:`PricingConfigError`);
    ``start``/``end`` are aware datetimes in any offset (:class:`PricingInputError` when naive, when
    ``end <= start`` or for an unknown ``time_zone``); ``time_zone`` is the facility's IANA zone, used for
    calendar days, ISO weeks and time-of-day windows. Raises :class:`StayTooLongError` for a stay longer
    than :data:`MAX_STAY` or than the rule's last slab/tier. The result does not depend on the server's
    time zone or on the offsets the datetimes carry, only on the instants.
    """
    validate_config(strategy, config)
    context = context or PricingContext()
    start_utc, end_utc = _aware(start, "start"), _aware(end, "end")
    if end_utc <= start_utc:
        raise PricingInputError("The end must be after the start.", attr="end")
    if end_utc - start_utc > MAX_STAY:
        raise StayTooLongError(f"Stays of at most {MAX_STAY.days} days can be priced.", attr="end")
    zone = _zone(time_zone)
    timeline = _Timeline(start_utc, end_utc, _context(context))
    modifiers: Mapping[str, Any] = config.get("modifiers", {})

    items: list[LineItem] = []
    covered_us = timeline.covered_us
    if covered_us:
        text = (
            f"Whole stay of {_fmt_duration(covered_us)} covered by a pass"
            if timeline.total_us == 0
            else f"{_fmt_duration(covered_us)} covered by a pass, not charged"
        )
        items.append(LineItem(LineCode.PASS_COVERAGE, text, 0))
    days = _local_days(start_utc, end_utc, zone)
    if timeline.total_us == 0:
        by_day = [DayAmount(day, 0) for day, _, _ in days]
    else:
        tariff = _tariff(strategy, config, timeline, zone)
        tariff_items = tariff.lines()
        if sum(item.amount for item in tariff_items) != tariff.amount_until(end_utc):
            raise AssertionError("tariff lines and running price disagree")  # pragma: no cover
        items.extend(tariff_items)
        by_day, cap_items = _cap(tariff, days, modifiers)
        items.extend(cap_items)
        items.extend(_multipliers(sum(d.amount for d in by_day), modifiers, context))

    parking_amount = sum(item.amount for item in items)
    label = _STRATEGY_LABELS[strategy]
    head = f"{label} rule {rule_name!r}" if rule_name else f"{label} rule"
    body = " ".join(f"{item.description}: {item.amount}." for item in items)
    explanation = (
        f"{head}, {_fmt_duration(_us(end_utc - start_utc))} in {time_zone}. {body} Parking amount {parking_amount}."
    )
    return Quote(
        strategy=strategy,
        rule_name=rule_name,
        time_zone=time_zone,
        start=start_utc,
        end=end_utc,
        line_items=tuple(items),
        parking_amount=parking_amount,
        subscription_used=covered_us > 0,
        elapsed=end_utc - start_utc,
        covered=timedelta(microseconds=covered_us),
        tariff_by_day=tuple(by_day),
        explanation=explanation,
    )
