"""Demo vehicles for the two demo drivers (called by ``manage.py seed_demo``; idempotent)."""

from typing import Any

from accounts.models import User

from .models import Vehicle, VehicleType
from .services import vehicle_create

DEMO_VEHICLES: dict[str, list[dict[str, Any]]] = {
    "driver1@demo.parking": [
        {
            "plate": "7ABC123",
            "country": "US",
            "vehicle_type": VehicleType.STANDARD,
            "make": "Toyota",
            "model": "Corolla",
            "color": "blue",
            "nickname": "Daily",
        },
        {
            "plate": "EV-2024",
            "country": "US",
            "vehicle_type": VehicleType.SUV,
            "is_ev": True,
            "make": "Tesla",
            "model": "Model Y",
            "color": "white",
            "nickname": "Weekend",
        },
    ],
    "driver2@demo.parking": [
        {
            "plate": "KA 01 AB 1234",
            "country": "IN",
            "vehicle_type": VehicleType.COMPACT,
            "make": "Maruti",
            "model": "Swift",
            "color": "red",
            "nickname": "City car",
        },
        {
            "plate": "KA 05 MC 7788",
            "country": "IN",
            "vehicle_type": VehicleType.MOTORCYCLE,
            "make": "Royal Enfield",
            "model": "Classic 350",
            "color": "black",
            "nickname": "Bike",
        },
    ],
}


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    for email, vehicles in DEMO_VEHICLES.items():
        owner = users[email]
        if Vehicle.objects.filter(owner=owner).exists():
            continue
        for fields in vehicles:
            vehicle_create(owner=owner, **fields)
