import pytest
from rest_framework.test import APIClient

from bookings import services as booking_services
from gates import services


@pytest.fixture
def gate_and_key(facility, owner_a):
    return services.gate_create(facility=facility, data={"name": "Main entry", "allow_drive_in": False}, actor=owner_a)


@pytest.fixture
def gate(gate_and_key):
    return gate_and_key[0]


@pytest.fixture
def device(gate_and_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Gate {gate_and_key[1]}")
    return client


@pytest.fixture
def reservation(driver, car, facility, spot, window):
    """A confirmed 4-hour reservation two days ahead (the facility does not require prepayment)."""
    start, end = window
    return booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
