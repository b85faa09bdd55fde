"""JSON Schemas (Draft 2020-12) for pricing rule configs, plus the checks a schema cannot express.

A pricing rule is a ``strategy`` name and a JSON ``config``. :data:`STRATEGY_SCHEMAS` holds one
self-contained schema per strategy (no ``$ref``: each can be embedded in an API schema as is) and
:data:`STRATEGY_EXAMPLES` a valid example of each. :func:`validate_config` runs the schema and then the
semantic checks, and raises :class:`PricingConfigError` naming the offending key as a JSON path such as
``config.slabs[1].price``.

Units: every amount and rate is an **integer of minor units** (a ``rate`` is per hour, or per day for
``daily``); hours (``up_to_hours``, ``max_hours``) are JSON numbers that must come to whole minutes;
multipliers are JSON numbers > 0, read exactly through ``Decimal(str(x))``. Integers are strict:
``1500.0`` is not an amount. The full description with worked examples is ``docs/pricing.md``.

This module is pure Python (no Django) so the engine, the API and the docs share it.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from decimal import Decimal
from functools import cache
from typing import Any, Final

from jsonschema import Draft202012Validator, ValidationError, validators

__all__ = [
    "MAX_AMOUNT",
    "MODIFIERS_EXAMPLE",
    "MODIFIERS_SCHEMA",
    "STRATEGIES",
    "STRATEGY_EXAMPLES",
    "STRATEGY_SCHEMAS",
    "PricingConfigError",
    "PricingError",
    "validate_config",
]

STRATEGIES: Final = ("flat", "hourly", "tiered", "slab", "daily", "time_of_day")

#: Upper bound of any single amount or rate in a config (minor units): keeps arithmetic and columns sane.
MAX_AMOUNT: Final = 1_000_000_000
#: Longest hours value accepted in tiers and slabs (one leap year).
MAX_HOURS: Final = 8784
MAX_MULTIPLIER: Final = 100

WEEKDAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class PricingError(Exception):
    """Base of the pricing engine's errors: a stable ``code``, a ``message`` and the ``attr`` it is about.

    The shape mirrors ``app.exceptions.ApplicationError`` so the Django side can re-raise it as one
    (this module stays free of Django and Celery imports).
    """

    code: str = "pricing_error"

    def __init__(self, message: str, *, attr: str | None = None) -> None:
        self.message = message
        self.attr = attr
        super().__init__(f"{attr}: {message}" if attr else message)


class PricingConfigError(PricingError):
    """A rule config that is not valid; ``path`` (also ``attr``) is the JSON path of the offending key,
    rooted at ``config`` (``config.slabs[1].price``), or ``strategy`` for an unknown strategy."""

    code = "invalid_pricing_config"

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message, attr=path)


# --- schema building blocks ---------------------------------------------------------------------------

_AMOUNT: Final = {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT}
_HOURS_OR_NULL: Final = {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": MAX_HOURS}
_MULTIPLIER: Final = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_MULTIPLIER}
_INCREMENT: Final = {
    "type": "integer",
    "minimum": 1,
    "maximum": 1440,
    "default": 60,
    "description": "Billing increment in minutes: every started increment is billed in full.",
}
_TIME_PATTERN: Final = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
_KEY_PATTERN: Final = "^[a-z][a-z0-9_]{0,31}$"


def _multiplier_map(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "propertyNames": {"pattern": _KEY_PATTERN},
        "additionalProperties": _MULTIPLIER,
        "maxProperties": 32,
    }


MODIFIERS_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": (
        "Optional modifiers, usable with every strategy. Order: caps on the tariff (daily_max per local "
        "calendar day, then weekly_max per local ISO week), then multipliers on the capped amount "
        "(category, vehicle, occupancy surge). Each one that changes the amount is its own line item."
    ),
    "additionalProperties": False,
    "properties": {
        "daily_max": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_AMOUNT,
            "description": "Most the tariff charges for one calendar day in the facility's time zone.",
        },
        "weekly_max": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_AMOUNT,
            "description": "Most the tariff charges for one ISO week (Monday–Sunday) in the facility's time zone.",
        },
        "category_multipliers": _multiplier_map('Multiplier by spot category, e.g. {"ev": 1.2, "vip": 1.5}.'),
        "vehicle_multipliers": _multiplier_map('Multiplier by vehicle type, e.g. {"motorcycle": 0.5}.'),
        "occupancy_surge": {
            "type": "object",
            "description": (
                "When the occupancy ratio is above threshold, multiply by multiplier; max_multiplier caps "
                "the combined category × vehicle × surge factor (the surge never lowers a price)."
            ),
            "additionalProperties": False,
            "required": ["threshold", "multiplier"],
            "properties": {
                "threshold": {"type": "number", "minimum": 0, "maximum": 1},
                "multiplier": {"type": "number", "minimum": 1, "maximum": MAX_MULTIPLIER},
                "max_multiplier": {"type": "number", "minimum": 1, "maximum": MAX_MULTIPLIER},
            },
        },
    },
}


def _object(
    title: str, description: str, properties: dict[str, Any], required: Sequence[str], *, modifiers: bool = True
) -> dict[str, Any]:
    props = dict(properties)
    if modifiers:
        props["modifiers"] = deepcopy(MODIFIERS_SCHEMA)
    return {
        "type": "object",
        "title": title,
        "description": description,
        "additionalProperties": False,
        "required": list(required),
        "properties": props,
    }


def _hourly_properties() -> dict[str, Any]:
    return {
        "rate": {**_AMOUNT, "description": "Price per hour, minor units."},
        "increment_minutes": dict(_INCREMENT),
        "minimum": {**_AMOUNT, "default": 0, "description": "Least charged for any uncovered stay, minor units."},
    }


def _root(schema: dict[str, Any], strategy: str) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"urn:pricing:{strategy}", **schema}


STRATEGY_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "flat": _root(
        _object(
            "Flat",
            "One price for any stay (charged when any part of the stay is not covered by a pass).",
            {"amount": {**_AMOUNT, "description": "Price of the stay, minor units."}},
            ["amount"],
        ),
        "flat",
    ),
    "hourly": _root(
        _object(
            "Hourly",
            "rate per hour, billed per started increment: round_half_up(rate × billed_minutes / 60).",
            _hourly_properties(),
            ["rate"],
        ),
        "hourly",
    ),
    "tiered": _root(
        _object(
            "Tiered hourly",
            "Hourly rates that change with the length of the stay; up_to_hours are cumulative and strictly "
            "increasing, only the last may be null (no limit).",
            {
                "tiers": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 20,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["up_to_hours", "rate"],
                        "properties": {
                            "up_to_hours": _HOURS_OR_NULL,
                            "rate": {**_AMOUNT, "description": "Price per hour within this tier, minor units."},
                        },
                    },
                },
                "increment_minutes": dict(_INCREMENT),
            },
            ["tiers"],
        ),
        "tiered",
    ),
    "slab": _root(
        _object(
            "Slab",
            "The price of the first slab whose max_hours covers the stay (null = no limit). Slabs are "
            "ordered by max_hours and their prices never decrease.",
            {
                "slabs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["max_hours", "price"],
                        "properties": {"max_hours": _HOURS_OR_NULL, "price": _AMOUNT},
                    },
                }
            },
            ["slabs"],
        ),
        "slab",
    ),
    "daily": _root(
        _object(
            "Daily",
            "rate per calendar day of the facility's time zone touched by the stay (mode calendar) or per "
            "started 24 hours of real elapsed time (mode 24h).",
            {
                "rate": {**_AMOUNT, "description": "Price per day, minor units."},
                "mode": {"enum": ["calendar", "24h"], "default": "calendar"},
            },
            ["rate"],
        ),
        "daily",
    ),
    "time_of_day": _root(
        _object(
            "Time of day",
            "An hourly base whose rate changes inside local-time windows. A window has either a multiplier "
            "of the base rate or its own rate per hour; a window whose end is earlier than its start runs "
            "past midnight (days are the days it starts on, Monday = 0). Windows may not overlap.",
            {
                "base": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["strategy", "config"],
                    "properties": {
                        "strategy": {"enum": ["hourly"], "description": "Only an hourly base can be split."},
                        "config": _object(
                            "Hourly base", "The base hourly tariff.", _hourly_properties(), ["rate"], modifiers=False
                        ),
                    },
                },
                "windows": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["days", "start", "end"],
                        "oneOf": [{"required": ["multiplier"]}, {"required": ["rate"]}],
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 60},
                            "days": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 7,
                                "uniqueItems": True,
                                "items": {"type": "integer", "minimum": 0, "maximum": 6},
                            },
                            "start": {"type": "string", "pattern": _TIME_PATTERN},
                            "end": {"type": "string", "pattern": _TIME_PATTERN},
                            "multiplier": _MULTIPLIER,
                            "rate": {**_AMOUNT, "description": "Price per hour inside the window, minor units."},
                        },
                    },
                },
            },
            ["base", "windows"],
        ),
        "time_of_day",
    ),
}

MODIFIERS_EXAMPLE: Final[dict[str, Any]] = {
    "daily_max": 8000,
    "weekly_max": 40000,
    "category_multipliers": {"ev": 1.2, "vip": 1.5},
    "vehicle_multipliers": {"motorcycle": 0.5},
    "occupancy_surge": {"threshold": 0.8, "multiplier": 1.25, "max_multiplier": 1.5},
}

STRATEGY_EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "flat": {"amount": 1500},
    "hourly": {"rate": 1000, "increment_minutes": 60, "minimum": 0},
    "tiered": {"tiers": [{"up_to_hours": 2, "rate": 500}, {"up_to_hours": None, "rate": 300}], "increment_minutes": 60},
    "slab": {
        "slabs": [
            {"max_hours": 1, "price": 500},
            {"max_hours": 3, "price": 1200},
            {"max_hours": None, "price": 3000},
        ]
    },
    "daily": {"rate": 2500, "mode": "calendar"},
    "time_of_day": {
        "base": {"strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 15}},
        "windows": [
            {"name": "Morning peak", "days": [0, 1, 2, 3, 4], "start": "07:00", "end": "10:00", "multiplier": 1.5},
            {"name": "Night", "days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00", "rate": 400},
        ],
        "modifiers": {"daily_max": 12000},
    },
}


# --- validation ----------------------------------------------------------------------------------------


def _is_strict_integer(_checker: object, instance: object) -> bool:
    # jsonschema counts 1500.0 as an integer; money must be an int, never a float.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_finite_number(_checker: object, instance: object) -> bool:
    # json.loads accepts NaN and Infinity, which compare False with every bound and would slip through.
    if isinstance(instance, bool) or not isinstance(instance, numbers.Number):
        return False
    if isinstance(instance, float | Decimal):
        return math.isfinite(instance)
    return isinstance(instance, int | numbers.Rational)


_StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_strict_integer, "number": _is_finite_number}
    ),
)


@cache
def _validator(strategy: str) -> Any:
    return _StrictValidator(STRATEGY_SCHEMAS[strategy])


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts: Iterable[str | int], root: str = "config") -> str:
    """``("slabs", 1, "price")`` → ``config.slabs[1].price``."""
    path = root
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


_TYPE_WORDS: Final = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "null": "null",
    "boolean": "true or false",
}


def _describe_type(expected: str | list[str]) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    return " or ".join(_TYPE_WORDS.get(name, name) for name in names)


def _error_parts(error: ValidationError) -> list[str | int]:
    return list(error.absolute_path)


def _schema_error(error: ValidationError) -> PricingConfigError:
    """Turn a jsonschema error into one path and a readable message."""
    parts = _error_parts(error)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "required" and isinstance(instance, Mapping):
        missing = next((name for name in expected if name not in instance), "?")
        return PricingConfigError(json_path([*parts, missing]), "This key is required.")
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        known = set(error.schema.get("properties", {}))
        extra = next((name for name in instance if name not in known), "?")
        allowed = ", ".join(sorted(known)) or "none"
        return PricingConfigError(json_path([*parts, str(extra)]), f"Unknown key (allowed: {allowed}).")
    if kind == "pattern" and expected == _KEY_PATTERN:
        return PricingConfigError(
            json_path([*parts, str(instance)]), "Keys must be lowercase names (letters, digits, underscore)."
        )
    if kind == "enum" and parts[-2:] == ["base", "strategy"]:
        return PricingConfigError(
            json_path(parts),
            f"time_of_day needs a per-hour base so a stay can be split between windows: only 'hourly' is "
            f"allowed, not {instance!r}.",
        )
    if kind == "oneOf":
        return PricingConfigError(json_path(parts), "Give exactly one of 'multiplier' or 'rate'.")
    messages = {
        "type": lambda: f"Must be {_describe_type(expected)}.",
        "minimum": lambda: f"Must be at least {expected}.",
        "maximum": lambda: f"Must be at most {expected}.",
        "exclusiveMinimum": lambda: f"Must be greater than {expected}.",
        "exclusiveMaximum": lambda: f"Must be less than {expected}.",
        "enum": lambda: "Must be one of: " + ", ".join(repr(v) for v in expected) + ".",
        "const": lambda: f"Must be {expected!r}.",
        "pattern": lambda: "Must be a local time HH:MM (00:00–23:59).",
        "minItems": lambda: f"Must have at least {expected} item(s).",
        "maxItems": lambda: f"Must have at most {expected} items.",
        "uniqueItems": lambda: "Must not repeat a value.",
        "minLength": lambda: "Must not be empty.",
        "maxLength": lambda: f"Must be at most {expected} characters.",
        "maxProperties": lambda: f"Must have at most {expected} keys.",
    }
    message = messages[str(kind)]() if kind in messages else error.message
    return PricingConfigError(json_path(parts), message)


def _path_key(error: ValidationError) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in error.absolute_path)


def _whole_minutes(hours: float | int, path: str) -> int:
    minutes = Decimal(str(hours)) * 60
    if minutes != minutes.to_integral_value():
        raise PricingConfigError(path, "Must come to a whole number of minutes (e.g. 0.5 or 1.25 hours).")
    return int(minutes)


def _check_limits(items: Sequence[Mapping[str, Any]], key: str, name: str) -> None:
    """Limits (hours) strictly increasing and whole minutes; only the last may be null."""
    previous: int | None = None
    for index, item in enumerate(items):
        path = json_path([name, index, key])
        value = item[key]
        if value is None:
            if index != len(items) - 1:
                raise PricingConfigError(path, "Only the last item may have no limit (null).")
            continue
        minutes = _whole_minutes(value, path)
        if previous is not None and minutes <= previous:
            raise PricingConfigError(
                path, f"Must be greater than {name}[{index - 1}].{key}: items are ordered by length."
            )
        previous = minutes


def _time_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def window_week_ranges(window: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The minutes of the week (Monday 00:00 = 0, 10080 per week) a validated window covers, as half-open
    ranges; a window past midnight continues into the next day (Sunday night into Monday)."""
    start, end = _time_minutes(window["start"]), _time_minutes(window["end"])
    length = end - start if end > start else end + 1440 - start
    week = 7 * 1440
    ranges: list[tuple[int, int]] = []
    for day in window["days"]:
        lo = day * 1440 + start
        hi = lo + length
        if hi <= week:
            ranges.append((lo, hi))
        else:
            ranges.extend([(lo, week), (0, hi - week)])
    return ranges


def _fmt_week_minute(minute: int) -> str:
    day, rest = divmod(minute, 1440)
    return f"{WEEKDAY_NAMES[day]} {rest // 60:02d}:{rest % 60:02d}"


def _check_time_of_day(config: Mapping[str, Any]) -> None:
    windows = config["windows"]
    seen: list[tuple[int, list[tuple[int, int]]]] = []
    for index, window in enumerate(windows):
        if window["start"] == window["end"]:
            raise PricingConfigError(json_path(["windows", index, "end"]), "Must differ from start.")
        ranges = window_week_ranges(window)
        for other, other_ranges in seen:
            for lo, hi in ranges:
                for olo, ohi in other_ranges:
                    if lo < ohi and olo < hi:
                        raise PricingConfigError(
                            json_path(["windows", index]),
                            f"Overlaps windows[{other}] from {_fmt_week_minute(max(lo, olo))}; windows may not overlap.",
                        )
        seen.append((index, ranges))


def _check_modifiers(config: Mapping[str, Any]) -> None:
    surge = config.get("modifiers", {}).get("occupancy_surge")
    if (
        surge
        and "max_multiplier" in surge
        and Decimal(str(surge["max_multiplier"])) < Decimal(str(surge["multiplier"]))
    ):
        raise PricingConfigError(
            json_path(["modifiers", "occupancy_surge", "max_multiplier"]), "Must not be less than multiplier."
        )


def _check_semantics(strategy: str, config: Mapping[str, Any]) -> None:
    if strategy == "tiered":
        _check_limits(config["tiers"], "up_to_hours", "tiers")
    elif strategy == "slab":
        slabs = config["slabs"]
        _check_limits(slabs, "max_hours", "slabs")
        for index in range(1, len(slabs)):
            if slabs[index]["price"] < slabs[index - 1]["price"]:
                raise PricingConfigError(
                    json_path(["slabs", index, "price"]),
                    f"Must not be lower than slabs[{index - 1}].price ({slabs[index - 1]['price']}): "
                    "a longer stay may not cost less.",
                )
    elif strategy == "time_of_day":
        _check_time_of_day(config)
    _check_modifiers(config)


def validate_config(strategy: str, config: Any) -> None:
    """Raise :class:`PricingConfigError` unless ``config`` is a valid config for ``strategy``.

    The schema runs first (the first error in document order is reported), then the semantic checks:
    tiers/slabs ordered by strictly increasing limits in whole minutes with only the last null, slab
    prices non-decreasing, windows with start ≠ end that do not overlap, surge ``max_multiplier`` ≥
    ``multiplier``. Multipliers > 0 and amounts ≥ 0 are schema rules.
    """
    if strategy not in STRATEGY_SCHEMAS:
        raise PricingConfigError("strategy", f"Unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}.")
    errors = list(_validator(strategy).iter_errors(config))
    if errors:
        raise _schema_error(min(errors, key=_path_key))
    _check_semantics(strategy, config)
