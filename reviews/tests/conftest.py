import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from bookings import services as booking_services
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory


def stay(driver, facility, spot, window):
    """A completed booking of ``driver`` (checked in at the start, out at the end)."""
    start, end = window
    car = VehicleFactory(owner=driver, vehicle_type="standard")
    booking = booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
    booking_services.booking_check_in(booking_id=booking.pk, actor=driver, at=start)
    return booking_services.booking_check_out(booking_id=booking.pk, actor=driver, at=end)


@pytest.fixture
def completed(driver, facility, spot, window):
    return stay(driver, facility, spot, window)


@pytest.fixture
def other_driver():
    return UserFactory(email="rider@example.com", first_name="Rita", last_name="Rider")


@pytest.fixture
def other_completed(other_driver, facility, zone, window):
    return stay(other_driver, facility, make_spot(zone, "B-1"), window)


def force_client(user):
    """Force-authenticated (the clock travels past any JWT's lifetime in some tests)."""
    client = APIClient()
    client.force_authenticate(user)
    return client
