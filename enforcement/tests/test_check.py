"""Enforcement check: booking / grace / pass / drive-in session / nothing, scoping, immutable log."""

from datetime import timedelta

import pytest
from django.db import ProgrammingError, transaction
from django.utils import timezone

from bookings import services as booking_services
from bookings import sessions
from enforcement.models import EnforcementCheck
from pricing import services as pricing_services
from pricing.models import Pass

pytestmark = pytest.mark.django_db

URL = "/api/v1/enforcement/check/"


@pytest.fixture
def booking(driver, car, facility, spot, window):
    start, end = window
    return booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )


def _check(client, facility, plate):
    response = client.post(URL, {"facility": facility.pk, "license_plate": plate})
    assert response.status_code == 200, response.json()
    return response.json()


def test_booking_window_and_grace(auth_client, staff_a, facility, booking, car):
    facility.overstay_grace_minutes = 10
    facility.save(update_fields=["overstay_grace_minutes"])
    import time_machine

    with time_machine.travel(booking.start + timedelta(hours=1)):
        during = _check(auth_client(staff_a), facility, f"{car.plate[:3].lower()} {car.plate[3:]}")
    assert (during["allowed"], during["outcome"], during["booking"]) == (True, "booking", booking.reference)
    assert during["valid_until"].startswith((booking.end + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
    with time_machine.travel(booking.end + timedelta(minutes=9, seconds=59)):
        assert _check(auth_client(staff_a), facility, car.plate)["outcome"] == "grace"
    with time_machine.travel(booking.end + timedelta(minutes=10)):
        late = _check(auth_client(staff_a), facility, car.plate)
    assert (late["allowed"], late["outcome"], late["valid_until"]) == (False, "nothing", None)
    assert EnforcementCheck.objects.count() == 3


def test_pass_and_drive_in_and_nothing(auth_client, staff_a, facility, spot, driver, car):
    client = auth_client(staff_a)
    assert _check(client, facility, "NOBODY1")["outcome"] == "nothing"
    sessions.session_open(actor=staff_a, facility=facility, plate="WALKIN1", vehicle_type="standard")
    assert _check(client, facility, "walk-in 1")["outcome"] == "drive_in"

    product = pricing_services.pass_product_create(
        facility=facility, data={"name": "M", "period": "monthly", "price": 1}
    )
    now = timezone.now()
    Pass.objects.create(
        product=product,
        driver=driver,
        vehicle=car,
        status="active",
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=3),
    )
    covered = _check(client, facility, car.plate)
    assert (covered["allowed"], covered["outcome"]) == (True, "pass")


def test_scoping_bad_plate_and_immutable_log(auth_client, owner_b, staff_a, facility):
    assert auth_client(owner_b).post(URL, {"facility": facility.pk, "license_plate": "AB12"}).status_code == 404
    bad = auth_client(staff_a).post(URL, {"facility": facility.pk, "license_plate": "!!"})
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "license_plate")
    assert EnforcementCheck.objects.count() == 0

    _check(auth_client(staff_a), facility, "AB12CD")
    check = EnforcementCheck.objects.get()
    assert check.checked_by == staff_a
    with pytest.raises(ProgrammingError), transaction.atomic():
        EnforcementCheck.objects.filter(pk=check.pk).update(allowed=True)
