"""Which spots a vehicle may use. The one table every availability query and allocation reads.

| vehicle type | spot sizes that fit        | notes                                         |
|--------------|----------------------------|-----------------------------------------------|
| motorcycle   | small, medium, large, xlarge | the only type allowed in `motorcycle` spots |
| compact      | small, medium, large, xlarge |                                             |
| standard     | medium, large, xlarge      |                                               |
| suv          | large, xlarge              |                                               |
| van          | xlarge                     |                                               |

Categories: `motorcycle` spots take only motorcycles; `ev` spots take only electric vehicles;
`accessible` spots are offered only when the driver asks for an accessible spot; `standard` and `vip`
take any vehicle that fits.
"""

from vehicles.models import VehicleType

SIZE_ORDER = ("small", "medium", "large", "xlarge")

FITTING_SIZES: dict[str, tuple[str, ...]] = {
    VehicleType.MOTORCYCLE: ("small", "medium", "large", "xlarge"),
    VehicleType.COMPACT: ("small", "medium", "large", "xlarge"),
    VehicleType.STANDARD: ("medium", "large", "xlarge"),
    VehicleType.SUV: ("large", "xlarge"),
    VehicleType.VAN: ("xlarge",),
}


def fitting_sizes(vehicle_type: str) -> tuple[str, ...]:
    return FITTING_SIZES[vehicle_type]


def allowed_categories(*, vehicle_type: str, is_ev: bool, needs_accessible: bool) -> tuple[str, ...]:
    """Spot categories a vehicle may be offered."""
    categories = ["standard", "vip"]
    if vehicle_type == VehicleType.MOTORCYCLE:
        categories.append("motorcycle")
    if is_ev:
        categories.append("ev")
    if needs_accessible:
        categories.append("accessible")
    return tuple(categories)
