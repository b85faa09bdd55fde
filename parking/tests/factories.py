"""Parking test data, created through the services so denormalised fields match production.

Other test modules append their own helpers below; keep existing ones stable.
"""

from decimal import Decimal
from typing import Any

from accounts.models import Organization
from parking import services
from parking.models import Facility, Spot, Zone

SAN_FRANCISCO = (Decimal("37.789000"), Decimal("-122.401000"))


def make_facility(organization: Organization, **overrides: Any) -> Facility:
    data: dict[str, Any] = {
        "name": "Downtown Garage",
        "address_line": "1 Market St",
        "city": "San Francisco",
        "country": "US",
        "latitude": SAN_FRANCISCO[0],
        "longitude": SAN_FRANCISCO[1],
        "timezone": "America/Los_Angeles",
        "is_published": True,
        "min_booking_minutes": 30,
    }
    data.update(overrides)
    return services.facility_create(organization=organization, data=data)


def make_zone(facility: Facility, **overrides: Any) -> Zone:
    data: dict[str, Any] = {"name": "Level 1", "level": 1}
    data.update(overrides)
    return services.zone_create(facility=facility, data=data)


def make_spot(zone: Zone, code: str, **overrides: Any) -> Spot:
    data: dict[str, Any] = {"code": code, "size": "medium", "category": "standard"}
    data.update(overrides)
    return services.spot_create(zone=zone, data=data)
