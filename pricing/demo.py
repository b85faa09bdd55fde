"""Demo prices for the demo facilities (called by ``manage.py seed_demo``; idempotent)."""

from typing import Any

from accounts.models import User
from parking.models import Facility

from .models import Discount, PricingRule
from .services import discount_create, rule_create

DEMO_RULES: dict[str, list[dict[str, Any]]] = {
    # facility slug → rules
    "mission-street-garage": [
        {
            "name": "Garage hourly, 30 USD daily max",
            "strategy": "hourly",
            "config": {
                "rate": 600,
                "increment_minutes": 15,
                "modifiers": {"daily_max": 3000, "category_multipliers": {"ev": 1.2}},
            },
        },
    ],
    "broadway-lot-oakland": [
        {
            "name": "Lot slabs",
            "strategy": "slab",
            "config": {
                "slabs": [
                    {"max_hours": 1, "price": 500},
                    {"max_hours": 3, "price": 1200},
                    {"max_hours": None, "price": 2500},
                ]
            },
        },
    ],
    "mg-road-driveway": [
        {
            "name": "Driveway hourly",
            "strategy": "hourly",
            "config": {"rate": 4000, "increment_minutes": 60, "modifiers": {"daily_max": 30000}},
        },
    ],
}


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    for slug, rules in DEMO_RULES.items():
        facility = Facility.objects.filter(slug=slug).first()
        if facility is None or PricingRule.objects.filter(facility=facility).exists():
            continue
        for rule in rules:
            rule_create(facility=facility, data=rule)
    garage = Facility.objects.filter(slug="mission-street-garage").first()
    if (
        garage is not None
        and not Discount.objects.filter(organization_id=garage.organization_id, code="WELCOME10").exists()
    ):
        discount_create(
            organization_id=garage.organization_id,
            data={
                "code": "WELCOME10",
                "kind": "percent",
                "percent": 10,
                "max_redemptions_per_user": 1,
                "description": "10 % off your first stay",
            },
            facilities=[],
        )
