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

__all__ = [
    "Factor",
    "apply_multiplier",
    "format_money",
    "percent_of",
    "round_half_up",
    "to_decimal",
    "to_fraction",
]

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


# ---------------------------------------------------------------------------- display

CURRENCY_SYMBOLS: dict[str, str] = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
# ISO 4217 minor-unit exponents other than the default 2. Amounts everywhere are in ISO minor units
# (a JPY amount of 500 is ¥500, a KWD amount of 1500 is KWD 1.500).
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "PYG", "UGX", "XAF", "XOF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
DEFAULT_EXPONENT = 2


def _group_indian(number: int) -> str:
    """Indian digit grouping: the last three digits, then pairs (``12345678`` → ``1,23,45,678``)."""
    digits = str(number)
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join(part for part in (head, *pairs, tail) if part)


def format_money(amount: int, currency: str) -> str:
    """Minor units for people (the one formatting of the platform: emails, receipts):
    ``format_money(12345678, "INR") == "₹1,23,456.78"``, ``format_money(445000, "USD") == "$4,450.00"``,
    ``format_money(-500, "EUR") == "-€5.00"``, ``format_money(1234, "CHF") == "CHF 12.34"``.

    The sign goes before the symbol; currencies without a symbol here print their ISO code and a space.
    INR uses Indian grouping (lakh, crore), every other currency groups by thousands.
    """
    exponent = CURRENCY_EXPONENTS.get(currency, DEFAULT_EXPONENT)
    major, minor = divmod(abs(amount), 10**exponent)
    grouped = _group_indian(major) if currency == "INR" else f"{major:,}"
    number = f"{grouped}.{minor:0{exponent}d}" if exponent else grouped
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}"
