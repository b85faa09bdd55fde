"""Demo data for the quickstart. Idempotent: a second run changes nothing and does not fail.

Later apps extend it by adding a ``seed_demo`` function in their own ``demo.py`` module; this
command calls them in dependency order after the accounts and vehicles data exist.
"""

import importlib
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Membership, Organization, Role, User

DEMO_PASSWORD = "demo-parking-2026"  # noqa: S105 - published demo credentials, quickstart only

DEMO_USERS = [
    # (email, first name, last name, platform admin?)
    ("admin@demo.parking", "Ada", "Admin", True),
    ("owner@demo.parking", "Olivia", "Owner", False),
    ("staff@demo.parking", "Sam", "Staff", False),
    ("host@demo.parking", "Hari", "Host", False),
    ("driver1@demo.parking", "Dana", "Driver", False),
    ("driver2@demo.parking", "Dev", "Driver", False),
]

DEMO_ORGANIZATIONS = [
    # (slug, name, kind, currency, country, members as (email, role))
    (
        "citypark",
        "CityPark Garages",
        Organization.Kind.OPERATOR,
        "USD",
        "US",
        [("owner@demo.parking", Role.OWNER), ("staff@demo.parking", Role.STAFF)],
    ),
    ("haris-driveway", "Hari's Driveway", Organization.Kind.HOST, "INR", "IN", [("host@demo.parking", Role.OWNER)]),
]


def _user(email: str, first: str, last: str, admin: bool) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        if admin:
            user = User.objects.create_superuser(email=email, password=DEMO_PASSWORD, first_name=first, last_name=last)
        else:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, first_name=first, last_name=last, is_verified=True
            )
    return user


class Command(BaseCommand):
    help = "Create the demo accounts, organizations and data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = {email: _user(email, first, last, admin) for email, first, last, admin in DEMO_USERS}
            for slug, name, kind, currency, country, members in DEMO_ORGANIZATIONS:
                organization, _ = Organization.objects.get_or_create(
                    slug=slug, defaults={"name": name, "kind": kind, "currency": currency, "country": country}
                )
                for email, role in members:
                    Membership.objects.get_or_create(
                        user=users[email], organization=organization, defaults={"role": role}
                    )
            for app_config in apps.get_app_configs():
                try:
                    module = importlib.import_module(f"{app_config.name}.demo")
                except ModuleNotFoundError:
                    continue
                module.seed_demo(users=users, stdout=self.stdout)

        self.stdout.write(self.style.SUCCESS(f"Demo data is ready. Logins (password for all: {DEMO_PASSWORD}):"))
        for email, _first, _last, _admin in DEMO_USERS:
            description = {
                "admin@demo.parking": "platform admin (use /admin/)",
                "owner@demo.parking": "owner of CityPark Garages (operator)",
                "staff@demo.parking": "staff at CityPark Garages",
                "host@demo.parking": "owner of Hari's Driveway (host)",
            }.get(email, "driver with vehicles")
            self.stdout.write(f"  {email:<24} {description}")
