"""Demo gate (``manage.py seed_demo``): one entry/exit gate at the demo garage, with drive-in on. Its
key is printed the first time only (keys are stored hashed); rotate it in the admin for a new one."""

from typing import Any

from accounts.models import User
from parking.models import Facility

from . import services
from .models import Gate


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    garage = Facility.objects.filter(slug="mission-street-garage").first()
    if garage is None or Gate.objects.filter(facility=garage).exists():
        return
    _gate, key = services.gate_create(
        facility=garage,
        data={"name": "Main gate", "lane": "1", "allow_drive_in": True},
        actor=users["owner@demo.parking"],
    )
    stdout.write(f"gates: demo gate 'Main gate' at Mission Street Garage, key (shown once): {key}")
