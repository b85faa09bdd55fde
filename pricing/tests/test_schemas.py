"""Rule config validation: schemas, examples, and every rejection naming the offending key's JSON path."""

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from pricing.schemas import (
    MODIFIERS_EXAMPLE,
    STRATEGIES,
    STRATEGY_EXAMPLES,
    STRATEGY_SCHEMAS,
    PricingConfigError,
    json_path,
    validate_config,
)

TOD_BASE = {"strategy": "hourly", "config": {"rate": 1000}}


def window(**overrides):
    return {"days": [0, 1, 2, 3, 4], "start": "07:00", "end": "10:00", "multiplier": 1.5, **overrides}


def test_every_strategy_has_a_valid_draft_2020_12_schema_and_example():
    assert set(STRATEGY_SCHEMAS) == set(STRATEGY_EXAMPLES) == set(STRATEGIES)
    for strategy, schema in STRATEGY_SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        json.dumps(schema)  # embeddable as is
        validate_config(strategy, STRATEGY_EXAMPLES[strategy])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_modifiers_example_is_accepted_by_every_strategy(strategy):
    config = {**copy.deepcopy(STRATEGY_EXAMPLES[strategy]), "modifiers": MODIFIERS_EXAMPLE}
    validate_config(strategy, config)


@pytest.mark.parametrize(
    ("strategy", "config"),
    [
        ("flat", {"amount": 0}),
        ("hourly", {"rate": 1000}),
        ("hourly", {"rate": 1000, "increment_minutes": 1, "minimum": 300}),
        ("tiered", {"tiers": [{"up_to_hours": None, "rate": 300}]}),
        ("tiered", {"tiers": [{"up_to_hours": 0.5, "rate": 300}, {"up_to_hours": 1.25, "rate": 200}]}),
        ("slab", {"slabs": [{"max_hours": 24, "price": 2000}]}),
        ("slab", {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 2, "price": 500}]}),
        ("daily", {"rate": 2500}),
        ("daily", {"rate": 2500, "mode": "24h"}),
        (
            "time_of_day",
            {
                "base": TOD_BASE,
                "windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00", "rate": 400}],
            },
        ),
        (
            "time_of_day",
            {
                "base": TOD_BASE,
                "windows": [
                    {"days": [6], "start": "22:00", "end": "00:00", "rate": 300},
                    {"days": [0], "start": "00:00", "end": "06:00", "rate": 300},
                ],
            },
        ),
        ("hourly", {"rate": 1000, "modifiers": {}}),
        ("hourly", {"rate": 1000, "modifiers": {"occupancy_surge": {"threshold": 0.8, "multiplier": 1.25}}}),
    ],
)
def test_valid_configs_are_accepted(strategy, config):
    validate_config(strategy, config)  # does not raise


INVALID = [
    # (strategy, config, path, words in the message)
    ("flat", {}, "config.amount", "required"),
    ("flat", {"amount": -1}, "config.amount", "at least 0"),
    ("flat", {"amount": 1500.0}, "config.amount", "integer"),
    ("flat", {"amount": True}, "config.amount", "integer"),
    ("flat", {"amount": "1500"}, "config.amount", "integer"),
    ("flat", {"amount": 10**12}, "config.amount", "at most"),
    ("flat", {"amount": 1, "price": 2}, "config.price", "Unknown key"),
    ("flat", [], "config", "object"),
    ("flat", None, "config", "object"),
    ("hourly", {"rate": 1000, "increment_minutes": 0}, "config.increment_minutes", "at least 1"),
    ("hourly", {"rate": 1000, "increment_minutes": 1441}, "config.increment_minutes", "at most 1440"),
    ("hourly", {"rate": 1000, "minimum": -5}, "config.minimum", "at least 0"),
    ("hourly", {"increment_minutes": 60}, "config.rate", "required"),
    ("tiered", {"tiers": []}, "config.tiers", "at least 1"),
    ("tiered", {"tiers": [{"up_to_hours": 2}]}, "config.tiers[0].rate", "required"),
    (
        "tiered",
        {"tiers": [{"up_to_hours": None, "rate": 500}, {"up_to_hours": None, "rate": 300}]},
        "config.tiers[0].up_to_hours",
        "Only the last",
    ),
    (
        "tiered",
        {"tiers": [{"up_to_hours": 3, "rate": 500}, {"up_to_hours": 2, "rate": 300}]},
        "config.tiers[1].up_to_hours",
        "greater than tiers[0].up_to_hours",
    ),
    ("tiered", {"tiers": [{"up_to_hours": 0.3333, "rate": 500}]}, "config.tiers[0].up_to_hours", "whole number"),
    ("tiered", {"tiers": [{"up_to_hours": 0, "rate": 500}]}, "config.tiers[0].up_to_hours", "greater than 0"),
    (
        "slab",
        {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 3, "price": 400}]},
        "config.slabs[1].price",
        "longer stay may not cost less",
    ),
    (
        "slab",
        {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 3, "price": "x"}]},
        "config.slabs[1].price",
        "integer",
    ),
    ("slab", {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 3}]}, "config.slabs[1].price", "required"),
    (
        "slab",
        {"slabs": [{"max_hours": 3, "price": 500}, {"max_hours": 3, "price": 600}]},
        "config.slabs[1].max_hours",
        "greater than",
    ),
    (
        "slab",
        {"slabs": [{"max_hours": None, "price": 500}, {"max_hours": 3, "price": 600}]},
        "config.slabs[0].max_hours",
        "Only the last",
    ),
    ("slab", {"slabs": [{"max_hours": "1", "price": 500}]}, "config.slabs[0].max_hours", "a number or null"),
    ("daily", {"rate": 2500, "mode": "weekly"}, "config.mode", "one of"),
    ("daily", {"rate": -1}, "config.rate", "at least 0"),
    (
        "time_of_day",
        {"base": {"strategy": "slab", "config": {"rate": 1000}}, "windows": [window()]},
        "config.base.strategy",
        "only 'hourly'",
    ),
    (
        "time_of_day",
        {"base": {"strategy": "hourly", "config": {"rate": 1000, "modifiers": {}}}, "windows": [window()]},
        "config.base.config.modifiers",
        "Unknown key",
    ),
    ("time_of_day", {"base": TOD_BASE, "windows": []}, "config.windows", "at least 1"),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(end="07:00")]}, "config.windows[0].end", "differ from start"),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(start="24:00")]}, "config.windows[0].start", "HH:MM"),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(end="7:00")]}, "config.windows[0].end", "HH:MM"),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(rate=1500)]}, "config.windows[0]", "exactly one"),
    (
        "time_of_day",
        {"base": TOD_BASE, "windows": [{"days": [0], "start": "07:00", "end": "10:00"}]},
        "config.windows[0]",
        "exactly one",
    ),
    (
        "time_of_day",
        {"base": TOD_BASE, "windows": [window(multiplier=0)]},
        "config.windows[0].multiplier",
        "greater than 0",
    ),
    (
        "time_of_day",
        {"base": TOD_BASE, "windows": [window(multiplier=-1)]},
        "config.windows[0].multiplier",
        "greater than 0",
    ),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(days=[7])]}, "config.windows[0].days[0]", "at most 6"),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(days=[1, 1])]}, "config.windows[0].days", "repeat"),
    ("time_of_day", {"base": TOD_BASE, "windows": [window(days=[])]}, "config.windows[0].days", "at least 1"),
    (
        "time_of_day",
        {"base": TOD_BASE, "windows": [window(), window(start="09:00", end="11:00")]},
        "config.windows[1]",
        "Overlaps windows[0] from Mon 09:00",
    ),
    (
        "time_of_day",
        {
            "base": TOD_BASE,
            "windows": [
                {"days": [6], "start": "22:00", "end": "06:00", "rate": 300},
                {"days": [0], "start": "05:00", "end": "07:00", "rate": 900},
            ],
        },
        "config.windows[1]",
        "Overlaps windows[0] from Mon 05:00",
    ),
    ("hourly", {"rate": 1, "modifiers": {"hourly_max": 5}}, "config.modifiers.hourly_max", "Unknown key"),
    ("hourly", {"rate": 1, "modifiers": {"daily_max": 0}}, "config.modifiers.daily_max", "at least 1"),
    ("hourly", {"rate": 1, "modifiers": {"weekly_max": 2.5}}, "config.modifiers.weekly_max", "integer"),
    (
        "hourly",
        {"rate": 1, "modifiers": {"category_multipliers": {"ev": -1.2}}},
        "config.modifiers.category_multipliers.ev",
        "greater than 0",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"category_multipliers": {"ev": 0}}},
        "config.modifiers.category_multipliers.ev",
        "greater than 0",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"vehicle_multipliers": {"motorcycle": "0.5"}}},
        "config.modifiers.vehicle_multipliers.motorcycle",
        "a number",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"category_multipliers": {"EV": 1.2}}},
        "config.modifiers.category_multipliers.EV",
        "lowercase",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"occupancy_surge": {"threshold": 1.5, "multiplier": 1.25}}},
        "config.modifiers.occupancy_surge.threshold",
        "at most 1",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"occupancy_surge": {"threshold": 0.8}}},
        "config.modifiers.occupancy_surge.multiplier",
        "required",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"occupancy_surge": {"threshold": 0.8, "multiplier": 1.5, "max_multiplier": 1.25}}},
        "config.modifiers.occupancy_surge.max_multiplier",
        "not be less than multiplier",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"category_multipliers": {"ev": float("nan")}}},
        "config.modifiers.category_multipliers.ev",
        "a number",
    ),
    (
        "hourly",
        {"rate": 1, "modifiers": {"category_multipliers": {"ev": float("inf")}}},
        "config.modifiers.category_multipliers.ev",
        "a number",
    ),
]


@pytest.mark.parametrize(("strategy", "config", "path", "words"), INVALID, ids=[f"{c[0]}:{c[2]}" for c in INVALID])
def test_invalid_configs_are_rejected_with_the_path_of_the_offending_key(strategy, config, path, words):
    # when
    with pytest.raises(PricingConfigError) as caught:
        validate_config(strategy, config)
    # then
    error = caught.value
    assert error.path == path
    assert error.attr == path
    assert error.code == "invalid_pricing_config"
    assert words in error.message
    assert str(error).startswith(f"{path}: ")


def test_an_unknown_strategy_is_reported_on_the_strategy():
    with pytest.raises(PricingConfigError) as caught:
        validate_config("weekly", {"rate": 1})
    assert caught.value.path == "strategy"
    assert "flat, hourly, tiered, slab, daily, time_of_day" in caught.value.message


def test_a_config_parsed_from_json_text_is_accepted():
    # JSON numbers such as 1.5 arrive as floats: fine for multipliers and hours, not for amounts.
    validate_config("time_of_day", json.loads(json.dumps(STRATEGY_EXAMPLES["time_of_day"])))
    with pytest.raises(PricingConfigError) as caught:
        validate_config("hourly", json.loads('{"rate": 1000.0}'))
    assert caught.value.path == "config.rate"


def test_json_path_quotes_keys_that_are_not_identifiers():
    assert json_path(["slabs", 1, "price"]) == "config.slabs[1].price"
    assert json_path(["category_multipliers", "e v"]) == 'config.category_multipliers["e v"]'
    assert json_path([]) == "config"
