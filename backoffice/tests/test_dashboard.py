"""The dashboard (admin home) and the facility map: numbers match the data, tenant scoping, the
maintenance toggle through the service."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from bookings import services as booking_services
from bookings.models import Booking
from parking.models import Spot
from parking.tests.factories import make_spot
from payments.models import Payment
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


def _staff(org, email, perms=("parking",)):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=perms))
    MembershipFactory(user=user, organization=org, role=Role.STAFF)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def floor(facility, zone, window):
    """Four spots now: one free, one reserved, one occupied, one in maintenance."""
    spots = {name: make_spot(zone, name) for name in ("FREE", "RES", "OCC", "MAINT")}
    now = timezone.now()
    for name in ("RES", "OCC"):
        driver = UserFactory(email=f"{name.lower()}@example.com")
        start, end = window
        booking = booking_services.booking_create(
            booking_services.BookingRequest(
                driver=driver,
                vehicle=VehicleFactory(owner=driver, vehicle_type="standard"),
                facility=facility,
                spot=spots[name],
                start=start,
                end=end,
            )
        )
        Booking.objects.filter(pk=booking.pk).update(start=now - timedelta(hours=1), end=now + timedelta(hours=2))
        if name == "OCC":
            booking_services.booking_check_in(booking_id=booking.pk, actor=driver, at=now - timedelta(minutes=30))
    Spot.objects.filter(pk=spots["MAINT"].pk).update(status="maintenance")
    return spots


def test_dashboard_numbers_match_the_data(org_a, facility, floor, django_assert_max_num_queries):
    Payment.objects.create(
        organization=org_a,
        purpose="booking",
        amount=4450,
        owner_amount=4000,
        platform_amount=450,
        currency="USD",
        provider="cash",
        status="succeeded",
        succeeded_at=timezone.now(),
    )
    _, client = _staff(org_a, "desk@example.com")
    with django_assert_max_num_queries(45):
        response = client.get("/admin/")
    assert response.status_code == 200
    board = response.context["dashboard"]
    assert board["totals"] == {"available": 1, "reserved": 1, "occupied": 1, "maintenance": 1}
    [row] = board["occupancy"]
    assert (row.name, row.total) == (facility.name, 4)
    assert board["attention"].entries_today == 1
    today = board["revenue"][-1]
    assert (today.gross, today.fees, today.refunds, today.net) == (4450, 450, 0, 4450)
    assert b"<svg" in response.content
    assert b"map" in response.content


def test_other_organizations_staff_see_nothing_of_it(org_b, floor):
    _, client = _staff(org_b, "other@example.com")
    board = client.get("/admin/").context["dashboard"]
    assert board["occupancy"] == []
    assert board["totals"] == {}
    facility_id = floor["FREE"].facility_id
    assert client.get(f"/admin/backoffice/map/{facility_id}/").status_code == 404
    assert client.post(f"/admin/backoffice/spots/{floor['FREE'].pk}/maintenance/").status_code == 404
    assert Spot.objects.get(pk=floor["FREE"].pk).status == "active"


def test_map_shows_states_details_and_toggles_maintenance(org_a, facility, floor):
    _, client = _staff(org_a, "desk@example.com")
    page = client.get(f"/admin/backoffice/map/{facility.pk}/")
    assert page.status_code == 200
    states = {cell["code"]: cell["state"] for cell in page.context["cells"]}
    assert states == {
        "FREE": "available",
        "RES": "reserved",
        "OCC": "occupied",
        "MAINT": "maintenance",
    }

    detail = client.get(f"/admin/backoffice/spots/{floor['OCC'].pk}/").json()
    assert (detail["state"], detail["current"]["status"]) == ("occupied", "checked_in")

    toggled = client.post(f"/admin/backoffice/spots/{floor['FREE'].pk}/maintenance/").json()
    assert (toggled["status"], toggled["state"]) == ("maintenance", "maintenance")
    back = client.post(f"/admin/backoffice/spots/{floor['FREE'].pk}/maintenance/").json()
    assert back["state"] == "available"
    cells = client.get(f"/admin/backoffice/map/{facility.pk}/cells/").json()["cells"]
    assert {c["code"]: c["state"] for c in cells}["FREE"] == "available"


def test_toggle_needs_the_spot_change_permission(org_a, floor):
    _, client = _staff(org_a, "viewer@example.com", perms=())
    assert client.post(f"/admin/backoffice/spots/{floor['FREE'].pk}/maintenance/").status_code == 403
    assert Spot.objects.get(pk=floor["FREE"].pk).status == "active"
