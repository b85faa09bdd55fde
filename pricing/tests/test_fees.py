"""Fee policy, discounts and the rounding helpers: golden tables and arithmetic properties."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.fees import (
    DEFAULT_SERVICE_FEE_PERCENT,
    DEFAULT_TRANSACTION_FEE,
    FeeBreakdown,
    discount_amount,
    fee_breakdown,
)
from pricing.money import apply_multiplier, percent_of, round_half_up, to_decimal, to_fraction

# --- rounding --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 7, 0), (7, 2, 4), (5, 2, 3), (5, 3, 2), (4, 3, 1), (1, 2, 1), (1, 3, 0), (60000, 60, 1000), (1000, 60, 17)],
)
def test_round_half_up(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "words"),
    [(-1, 2, "numerator must be non-negative"), (1, 0, "denominator must be positive"), (1, -2, "denominator")],
)
def test_round_half_up_refuses_negative_or_zero(numerator, denominator, words):
    with pytest.raises(ValueError, match=words):
        round_half_up(numerator, denominator)


def test_round_half_up_refuses_floats():
    with pytest.raises(TypeError):
        round_half_up(2.5, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "multiplier", "expected"),
    [
        (1250, "1.2", 1500),
        (1250, Decimal("1.15"), 1438),  # 1437.5 → 1438
        (1250, 1.15, 1438),  # a JSON float goes through str(): exactly 1.15
        (1001, "0.5", 501),  # 500.5 → 501
        (4000, Fraction(7, 6), 4667),  # 4666.67 → 4667
        (4000, 1, 4000),
        (0, "1.5", 0),
    ],
)
def test_apply_multiplier(amount, multiplier, expected):
    assert apply_multiplier(amount, multiplier) == expected


def test_floats_are_read_through_their_decimal_text():
    assert to_decimal(1.1) == Decimal("1.1")
    assert to_fraction(0.1) == Fraction(1, 10)
    with pytest.raises(ValueError, match="not a finite number"):
        to_decimal(float("nan"))
    with pytest.raises(TypeError):
        to_decimal(True)


def test_percent_of_rounds_half_up():
    assert percent_of(4000, 10) == 400
    assert percent_of(1005, 10) == 101  # 100.5 → 101
    assert percent_of(1004, 10) == 100  # 100.4 → 100
    assert percent_of(999, Decimal("12.5")) == 125  # 124.875 → 125


# --- fee policy ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parking", "service_fee", "total", "owner", "platform"),
    [
        (1000, 100, 1150, 1000, 150),
        (2000, 200, 2250, 2000, 250),
        (4000, 400, 4450, 4000, 450),
        (5000, 500, 5550, 5000, 550),
        (10000, 1000, 11050, 10000, 1050),
    ],
)
def test_the_seed_fee_table(parking, service_fee, total, owner, platform):
    fees = fee_breakdown(parking_amount=parking)
    assert fees == FeeBreakdown(
        parking_amount=parking,
        discount_amount=0,
        service_fee=service_fee,
        transaction_fee=50,
        total=total,
        owner_payout=owner,
        platform_revenue=platform,
    )


def test_defaults_are_ten_percent_and_fifty_minor_units():
    assert Decimal("10") == DEFAULT_SERVICE_FEE_PERCENT
    assert DEFAULT_TRANSACTION_FEE == 50


def test_the_service_fee_is_charged_on_the_discounted_parking_amount():
    fees = fee_breakdown(parking_amount=4000, discount_amount=1000)
    assert (fees.discounted_parking_amount, fees.service_fee, fees.total) == (3000, 300, 3350)
    assert (fees.owner_payout, fees.platform_revenue) == (3000, 350)


def test_the_service_fee_is_rounded_half_up():
    assert fee_breakdown(parking_amount=1005).service_fee == 101
    assert fee_breakdown(parking_amount=1004).service_fee == 100


@pytest.mark.parametrize(("parking", "discount"), [(0, 0), (4000, 4000)])
def test_nothing_charged_means_no_fees(parking, discount):
    fees = fee_breakdown(parking_amount=parking, discount_amount=discount)
    assert (fees.service_fee, fees.transaction_fee, fees.total, fees.owner_payout, fees.platform_revenue) == (
        0,
        0,
        0,
        0,
        0,
    )


def test_an_organization_policy_overrides_the_defaults():
    fees = fee_breakdown(parking_amount=4000, service_fee_percent=Decimal("7.5"), transaction_fee=30)
    assert (fees.service_fee, fees.transaction_fee, fees.total, fees.platform_revenue) == (300, 30, 4330, 330)
    assert fee_breakdown(parking_amount=4000, service_fee_percent=0, transaction_fee=0).total == 4000


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"parking_amount": -1}, "parking_amount must be non-negative"),
        ({"parking_amount": 100, "discount_amount": 101}, "discount_amount exceeds parking_amount"),
        ({"parking_amount": 100, "discount_amount": -1}, "discount_amount must be non-negative"),
        ({"parking_amount": 100, "service_fee_percent": 101}, "service_fee_percent must be between 0 and 100"),
        ({"parking_amount": 100, "service_fee_percent": -1}, "service_fee_percent must be between 0 and 100"),
        ({"parking_amount": 100, "transaction_fee": -1}, "transaction_fee must be non-negative"),
    ],
)
def test_fee_breakdown_refuses_impossible_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        fee_breakdown(**kwargs)


def test_fee_breakdown_refuses_float_amounts():
    with pytest.raises(TypeError):
        fee_breakdown(parking_amount=40.0)  # type: ignore[arg-type]


def test_a_breakdown_that_does_not_add_up_cannot_be_built():
    with pytest.raises(ValueError, match="total"):
        FeeBreakdown(100, 0, 10, 50, 161, 100, 61)
    with pytest.raises(ValueError, match="owner payout"):
        FeeBreakdown(100, 0, 10, 50, 160, 100, 50)


# --- discounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"parking_amount": 4000}, 0),
        ({"parking_amount": 4000, "percent": 25}, 1000),
        ({"parking_amount": 1005, "percent": 10}, 101),  # 100.5 → 101
        ({"parking_amount": 1005, "percent": "12.5"}, 126),  # 125.625 → 126
        ({"parking_amount": 4000, "percent": 100}, 4000),
        ({"parking_amount": 4000, "percent": 0}, 0),
        ({"parking_amount": 4000, "fixed_amount": 500}, 500),
        ({"parking_amount": 400, "fixed_amount": 500}, 400),  # never more than the parking amount
        ({"parking_amount": 0, "fixed_amount": 500}, 0),
    ],
)
def test_discount_amount(kwargs, expected):
    assert discount_amount(**kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"parking_amount": 100, "percent": 10, "fixed_amount": 5}, "not both"),
        ({"parking_amount": 100, "percent": 101}, "percent must be between 0 and 100"),
        ({"parking_amount": 100, "percent": -5}, "percent must be between 0 and 100"),
        ({"parking_amount": 100, "fixed_amount": -5}, "fixed_amount must be non-negative"),
        ({"parking_amount": -100, "percent": 10}, "parking_amount must be non-negative"),
    ],
)
def test_discount_amount_refuses_impossible_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        discount_amount(**kwargs)


# --- properties ------------------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**9)
percents = st.decimals(min_value=0, max_value=100, places=2)


@settings(max_examples=200, deadline=None)
@given(parking=amounts, data=st.data(), percent=percents, transaction=st.integers(min_value=0, max_value=10_000))
def test_fee_arithmetic_always_adds_up(parking, data, percent, transaction):
    # given any parking amount, a discount from a percentage or a fixed amount, and any policy
    if data.draw(st.booleans()):
        discount = discount_amount(parking_amount=parking, percent=data.draw(percents))
    else:
        discount = discount_amount(parking_amount=parking, fixed_amount=data.draw(amounts))
    # when
    fees = fee_breakdown(
        parking_amount=parking, discount_amount=discount, service_fee_percent=percent, transaction_fee=transaction
    )
    # then
    assert 0 <= fees.discount_amount <= fees.parking_amount
    assert fees.total == fees.parking_amount - fees.discount_amount + fees.service_fee + fees.transaction_fee
    assert fees.owner_payout + fees.platform_revenue == fees.total
    assert fees.owner_payout == parking - discount
    assert all(isinstance(v, int) and v >= 0 for v in (fees.service_fee, fees.total, fees.platform_revenue))
    # the service fee is the exact percentage rounded half-up: within half a minor unit
    exact = Fraction(parking - discount) * Fraction(percent) / 100
    assert abs(fees.service_fee - exact) <= Fraction(1, 2)


@settings(max_examples=200, deadline=None)
@given(amount=amounts, multiplier=st.decimals(min_value=0, max_value=100, places=4))
def test_apply_multiplier_is_within_half_a_unit_and_rounds_halves_up(amount, multiplier):
    result = apply_multiplier(amount, multiplier)
    exact = Fraction(amount) * Fraction(multiplier)
    assert -Fraction(1, 2) < result - exact <= Fraction(1, 2)
