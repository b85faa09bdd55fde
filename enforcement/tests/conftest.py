"""Enforcement fixtures: the sandbox provider on (Stripe unconfigured, so nothing is charged
off-session), a penalty policy, and bookings in the states the jobs look at."""

import pytest

from bookings import services as booking_services
from enforcement.models import PenaltyPolicy
from payments import services as payment_services


@pytest.fixture(autouse=True)
def _sandbox_everywhere(sandbox_provider):
    """Every enforcement test may pay with the sandbox provider."""


@pytest.fixture
def policy(facility):
    return PenaltyPolicy.objects.create(
        facility=facility,
        fines={"unauthorized": 5000, "blocking": 7500, "overstay": 2500},
        overstay_daily_cap=5000,
        overstay_admin_fee=700,
        overstay_violation_after_minutes=60,
    )


def book(driver, car, facility, spot, start, end):
    return booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )


def pay(booking, driver, capture):
    """Pay a pending booking with the sandbox provider (→ confirmed)."""
    with capture(execute=True):
        payment, _ = payment_services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        payment_services.payment_sandbox_confirm(payment=payment)
    booking.refresh_from_db()
    return booking


@pytest.fixture
def prepaid_booking(facility, spot, driver, car, window, django_capture_on_commit_callbacks):
    """A confirmed, paid booking: 4 h at 1000/h → total 4450 (parking 4000)."""
    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    start, end = window
    return pay(book(driver, car, facility, spot, start, end), driver, django_capture_on_commit_callbacks)
