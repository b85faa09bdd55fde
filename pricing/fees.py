"""The fee policy and discounts: pure integer arithmetic on minor units (no database).

Policy (ARCHITECTURE §5; the defaults are overridable per organization by platform admins):

* the driver pays the **parking amount after discount** + a **service fee** of ``service_fee_percent``
  (default 10 %) of that discounted parking amount, rounded half-up once + a fixed **transaction fee**
  (default 50 minor units);
* the **owner** receives the discounted parking amount; the **platform** keeps the two fees;
* when nothing is charged for parking (a stay fully covered by a pass, or a 100 % discount) there is
  no service fee and no transaction fee either: the total is 0 and nobody is paid.

Seed table (10 % + 50): parking 1000 → 1150, 2000 → 2250, 4000 → 4450 (fee 400, owner 4000,
platform 450), 5000 → 5550, 10000 → 11050.

Discounts (promo / validation codes) are taken off the parking amount only, before the service fee:
a percentage is rounded half-up once; a discount is never negative and never more than the parking
amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .money import Factor, percent_of, to_fraction

__all__ = [
    "DEFAULT_SERVICE_FEE_PERCENT",
    "DEFAULT_TRANSACTION_FEE",
    "FeeBreakdown",
    "discount_amount",
    "fee_breakdown",
]

DEFAULT_SERVICE_FEE_PERCENT = Decimal("10")
DEFAULT_TRANSACTION_FEE = 50  # minor units per paid booking


def _non_negative_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of minor units")
    if value < 0:
        raise ValueError(f"{name} must be non-negative")


def _percent(name: str, value: Factor) -> None:
    fraction = to_fraction(value)
    if not 0 <= fraction <= 100:
        raise ValueError(f"{name} must be between 0 and 100")


@dataclass(frozen=True)
class FeeBreakdown:
    """What the driver pays and who gets what, all in minor units.

    ``total == parking_amount - discount_amount + service_fee + transaction_fee`` and
    ``owner_payout + platform_revenue == total`` always hold (checked on construction).
    """

    parking_amount: int  # before discount
    discount_amount: int
    service_fee: int
    transaction_fee: int
    total: int
    owner_payout: int
    platform_revenue: int

    def __post_init__(self) -> None:
        if self.total != self.parking_amount - self.discount_amount + self.service_fee + self.transaction_fee:
            raise ValueError("total does not add up")
        if self.owner_payout + self.platform_revenue != self.total:
            raise ValueError("owner payout and platform revenue do not add up to the total")

    @property
    def discounted_parking_amount(self) -> int:
        """The parking amount after discount: what the service fee is charged on and the owner earns."""
        return self.parking_amount - self.discount_amount


def fee_breakdown(
    *,
    parking_amount: int,
    discount_amount: int = 0,
    service_fee_percent: Factor = DEFAULT_SERVICE_FEE_PERCENT,
    transaction_fee: int = DEFAULT_TRANSACTION_FEE,
) -> FeeBreakdown:
    """Apply the fee policy to a parking amount (minor units) and a discount already worked out.

    Preconditions: ``0 <= discount_amount <= parking_amount``; ``0 <= service_fee_percent <= 100``
    (``Decimal``/``int``/``str``); ``transaction_fee >= 0``. The service fee is
    ``round_half_up(service_fee_percent % × (parking_amount - discount_amount))``. When the discounted
    parking amount is 0 nothing is charged: both fees are 0 and so is the total.
    """
    _non_negative_int("parking_amount", parking_amount)
    _non_negative_int("discount_amount", discount_amount)
    _non_negative_int("transaction_fee", transaction_fee)
    _percent("service_fee_percent", service_fee_percent)
    if discount_amount > parking_amount:
        raise ValueError("discount_amount exceeds parking_amount")
    net = parking_amount - discount_amount
    if net == 0:
        service_fee, transaction = 0, 0
    else:
        service_fee, transaction = percent_of(net, service_fee_percent), transaction_fee
    return FeeBreakdown(
        parking_amount=parking_amount,
        discount_amount=discount_amount,
        service_fee=service_fee,
        transaction_fee=transaction,
        total=net + service_fee + transaction,
        owner_payout=net,
        platform_revenue=service_fee + transaction,
    )


def discount_amount(*, parking_amount: int, percent: Factor | None = None, fixed_amount: int | None = None) -> int:
    """The amount (minor units) a discount takes off ``parking_amount``.

    Give at most one of ``percent`` (0–100, rounded half-up once) and ``fixed_amount`` (minor units);
    with neither the discount is 0. The result is never negative and never more than ``parking_amount``.
    """
    _non_negative_int("parking_amount", parking_amount)
    if percent is not None and fixed_amount is not None:
        raise ValueError("give either percent or fixed_amount, not both")
    if percent is not None:
        _percent("percent", percent)
        return min(parking_amount, percent_of(parking_amount, percent))
    if fixed_amount is not None:
        _non_negative_int("fixed_amount", fixed_amount)
        return min(parking_amount, fixed_amount)
    return 0
