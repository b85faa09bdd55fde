"""Demo penalty policies (``manage.py seed_demo``): fines and overstay terms for every demo facility,
so staff can issue violations from an enforcement check right away."""

from typing import Any

from accounts.models import User
from parking.models import Facility

from .models import PenaltyPolicy

DEMO_FINES = {"unauthorized": 5000, "blocking": 7500, "wrong_spot": 2500, "expired_pass": 2500, "overstay": 2500}


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    created = 0
    for facility in Facility.objects.filter(organization__slug__in=("citypark", "haris-driveway")):
        _policy, made = PenaltyPolicy.objects.get_or_create(
            facility=facility,
            defaults={
                # INR facilities: the same numbers read as paise, i.e. ₹50, ₹75 …
                "fines": DEMO_FINES,
                "overstay_daily_cap": 6000,
                "overstay_admin_fee": 500,
                "overstay_violation_after_minutes": 120,
            },
        )
        created += made
    if created:
        stdout.write(f"enforcement: penalty policies for {created} demo facilities")
