"""Prices in inventory's search results, supplied by the pricing app (a higher layer).

Pricing registers its providers from ``PricingConfig.ready()`` (docs/decisions.md: registries, not
signals). Without a provider (pricing not installed), search simply shows no prices.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .models import Facility, Spot


@dataclass(frozen=True)
class WindowPrice:
    """The driver's total for the window in minor units (parking after fees), or None if unpriceable."""

    total: int | None
    parking_amount: int | None
    currency: str


FacilityPricer = Callable[[Sequence[Facility], datetime, datetime, str | None], dict[int, WindowPrice]]
SpotPricer = Callable[[Sequence[Spot], datetime, datetime, str | None], dict[int, WindowPrice]]

_providers: dict[str, Callable[..., dict[int, WindowPrice]]] = {}


def register_price_provider(*, facilities: FacilityPricer, spots: SpotPricer) -> None:
    _providers["facilities"] = facilities
    _providers["spots"] = spots


def price_facilities(
    facilities: Sequence[Facility], start: datetime, end: datetime, vehicle_type: str | None
) -> dict[int, WindowPrice]:
    """Price of each facility's facility-wide rule for the window (bounded work: one page)."""
    provider = _providers.get("facilities")
    return provider(facilities, start, end, vehicle_type) if provider else {}


def price_spots(
    spots: Sequence[Spot], start: datetime, end: datetime, vehicle_type: str | None
) -> dict[int, WindowPrice]:
    provider = _providers.get("spots")
    return provider(spots, start, end, vehicle_type) if provider else {}
