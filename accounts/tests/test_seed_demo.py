import io

import pytest
from django.core.management import call_command

from accounts.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


def _counts():
    return (User.objects.count(), Organization.objects.count(), Membership.objects.count())


def test_seed_demo_is_idempotent_and_prints_logins():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()

    call_command("seed_demo", stdout=io.StringIO())

    assert _counts() == first
    assert first[:2] == (6, 2)
    assert "owner@demo.parking" in out.getvalue()
    assert "demo-parking-2026" in out.getvalue()
    admin = User.objects.get(email="admin@demo.parking")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password("demo-parking-2026")
    assert Membership.objects.get(user__email="staff@demo.parking").role == "staff"
    assert Organization.objects.get(slug="haris-driveway").kind == "host"


def test_seed_demo_gives_each_demo_driver_vehicles():
    from vehicles.models import Vehicle

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    assert Vehicle.objects.filter(owner__email="driver1@demo.parking").count() == 2
    assert Vehicle.objects.filter(owner__email="driver2@demo.parking").count() == 2
    assert Vehicle.objects.filter(owner__email="driver1@demo.parking", is_default=True).count() == 1


def test_demo_staff_can_use_the_scoped_back_office():
    from django.test import Client

    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    client.force_login(User.objects.get(email="staff@demo.parking"))

    response = client.get("/admin/parking/facility/")

    assert response.status_code == 200
    names = {facility.name for facility in response.context["cl"].queryset}
    assert names
    assert all("Driveway" not in name for name in names)
