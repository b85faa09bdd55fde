"""Demo data for the quickstart. Idempotent: a second run changes nothing and does not fail.

Later apps extend it by adding a ``seed_demo`` function in their own ``demo.py`` module; this
command calls them in dependency order after the accounts and vehicles data exist.
"""

import importlib
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
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
# Organization people who also use the back office (scoped to their organizations there).
BACK_OFFICE_USERS = ("owner@demo.parking", "staff@demo.parking", "host@demo.parking")
BACK_OFFICE_GROUP = "Organization back office"
# (app label, model) pairs the back-office group may view and change.
BACK_OFFICE_MODELS = [
    ("parking", "facility"),
    ("parking", "zone"),
    ("parking", "spot"),
    ("parking", "spotblock"),
    ("parking", "facilityphoto"),
    ("accounts", "organization"),
    ("accounts", "membership"),
    ("accounts", "auditlogentry"),
    ("bookings", "booking"),
    ("bookings", "outboxmessage"),
    ("bookings", "issuereport"),
    ("payments", "payment"),
    ("payments", "refund"),
    ("payments", "ledgerentry"),
    ("payments", "payout"),
    ("payments", "reconciliationmismatch"),
    ("gates", "gate"),
    ("gates", "gateevent"),
    ("gates", "gatecommand"),
    ("gates", "manualreview"),
    ("gates", "gatealert"),
    ("enforcement", "violation"),
    ("enforcement", "dispute"),
    ("enforcement", "penaltypolicy"),
    ("enforcement", "enforcementcheck"),
    ("reviews", "review"),
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


def _back_office(users: dict[str, User]) -> None:
    group, _ = Group.objects.get_or_create(name=BACK_OFFICE_GROUP)
    permissions = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in BACK_OFFICE_MODELS},
        content_type__model__in={model for _, model in BACK_OFFICE_MODELS},
    )
    group.permissions.set(permissions)
    for email in BACK_OFFICE_USERS:
        user = users[email]
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.add(group)


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
            _back_office(users)
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
                "owner@demo.parking": "owner of CityPark Garages (operator; API and /admin/)",
                "staff@demo.parking": "staff at CityPark Garages (API and /admin/)",
                "host@demo.parking": "owner of Hari's Driveway (host; API and /admin/)",
            }.get(email, "driver with vehicles")
            self.stdout.write(f"  {email:<24} {description}")
