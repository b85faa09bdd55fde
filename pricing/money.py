"""Integer money arithmetic: the one rounding rule of the platform.

Money is an ``int`` of **minor units** (cents, paise); the currency is carried next to it by the caller.
No ``float`` ever touches an amount. Factors that are not whole numbers (hourly rates applied to
minutes, multipliers such as ``1.25``, percentages such as ``10 %``) are turned into exact fractions
and the result is rounded **once per line item**, **half-up** (``0.5`` goes up) to a whole minor unit:

* ``round_half_up(7, 2) == 4`` (3.5 → 4), ``round_half_up(5, 3) == 2`` (1.67 → 2),
  ``round_half_up(4, 3) == 1`` (1.33 → 1).
* An hourly line is ``round_half_up(rate × billed_minutes, 60)``: 75 minutes at 1000/h is 1250,
  1 minute at 1000/h is 17 (16.67 rounded).
* A multiplier line is ``apply_multiplier(amount, m) - amount``: ``apply_multiplier(1250, "1.2") == 1500``.
* A percentage is ``percent_of(amount, p)``: ``percent_of(1005, 10) == 101`` (100.5 → 101).

Multipliers and percentages arriving as JSON numbers (Python ``float``) are converted through
``Decimal(str(x))`` (:func:`to_decimal`), so ``1.1`` means exactly 11/10, never 1.100000000000000088….
All amounts handled here are non-negative; a negative line item (a cap, a discounting multiplier) is
the difference of two non-negative rounded amounts.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

__all__ = ["Factor", "apply_multiplier", "percent_of", "round_half_up", "to_decimal", "to_fraction"]

#: Anything the helpers accept as an exact factor. ``float`` is accepted only through ``str()``.
Factor = Decimal | Fraction | int | str | float


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up to an integer (minor units).

    Both are integers, ``numerator >= 0`` and ``denominator > 0``; exact (no floating point).
    """
    if isinstance(numerator, bool) or not isinstance(numerator, int):
        raise TypeError("numerator must be an int")
    if isinstance(denominator, bool) or not isinstance(denominator, int):
        raise TypeError("denominator must be an int")
    if numerator < 0:
        raise ValueError("numerator must be non-negative")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return (2 * numerator + denominator) // (2 * denominator)


def to_decimal(value: Factor) -> Decimal:
    """An exact ``Decimal`` for a factor; a ``float`` goes through ``str()`` (``0.1`` → ``Decimal("0.1")``)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Fraction):
        raise TypeError("a Fraction may not have a finite decimal form; use to_fraction")
    if isinstance(value, int | float | str):
        result = Decimal(str(value).strip())
        if not result.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return result
    raise TypeError(f"cannot use {type(value).__name__} as a number")


def to_fraction(value: Factor) -> Fraction:
    """An exact ``Fraction`` for a factor (``"1.25"`` → 5/4; a ``float`` goes through ``str()``)."""
    if isinstance(value, Fraction):
        return value
    return Fraction(to_decimal(value))


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount must be an int of minor units")
    if amount < 0:
        raise ValueError("amount must be non-negative")


def apply_multiplier(amount: int, multiplier: Factor) -> int:
    """``amount × multiplier`` rounded half-up to minor units (one rounding, exact arithmetic).

    ``amount`` is a non-negative int of minor units, ``multiplier`` a non-negative exact factor.
    """
    _check_amount(amount)
    factor = to_fraction(multiplier)
    if factor < 0:
        raise ValueError("multiplier must be non-negative")
    return round_half_up(amount * factor.numerator, factor.denominator)


def percent_of(amount: int, percent: Factor) -> int:
    """``percent`` % of ``amount`` rounded half-up to minor units (``percent_of(4000, 10) == 400``)."""
    _check_amount(amount)
    factor = to_fraction(percent)
    if factor < 0:
        raise ValueError("percent must be non-negative")
    return round_half_up(amount * factor.numerator, factor.denominator * 100)
