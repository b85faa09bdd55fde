"""Payments fixtures on top of the shared booking fixtures (bookings/tests/fixtures.py): a prepaid booking, the sandbox provider switched on, and provider instances rebuilt per test."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings import services as booking_services
from payments.providers import providers_reset

STRIPE_TEST = {
    "secret_key": "sk_test_123",
    "publishable_key": "pk_test_123",
    "webhook_secret": "whsec_test_secret",
    "api_base": "",
}
RAZORPAY_TEST = {
    "key_id": "rzp_test_key",
    "key_secret": "rzp_test_secret",
    "webhook_secret": "rzp_webhook_secret",
    "api_base": "",
}


@pytest.fixture(autouse=True)
def payment_providers(settings):
    """Every provider configured with test keys (HTTP is mocked per test) and the sandbox on."""
    providers = dict(settings.PAYMENT_PROVIDERS)
    providers["stripe"] = {**providers["stripe"], "config": STRIPE_TEST}
    providers["razorpay"] = {**providers["razorpay"], "config": RAZORPAY_TEST}
    providers["sandbox"] = {**providers["sandbox"], "config": {"enabled": True}}
    settings.PAYMENT_PROVIDERS = providers
    providers_reset()
    yield providers
    providers_reset()


@pytest.fixture
def prepaid(facility):
    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    return facility


@pytest.fixture
def booking(prepaid, spot, driver, car, window):
    """A ``pending_payment`` booking: 4 h at 1000/h → total 4450 (parking 4000, fees 450)."""
    start, end = window
    return booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=prepaid, spot=spot, start=start, end=end)
    )


@pytest.fixture
def desk(org_a):
    from accounts.models import Role
    from accounts.tests.factories import MembershipFactory

    return MembershipFactory(organization=org_a, role=Role.STAFF, user__email="desk@example.com").user


@pytest.fixture
def second_desk(org_a):
    from accounts.models import Role
    from accounts.tests.factories import MembershipFactory

    return MembershipFactory(organization=org_a, role=Role.MANAGER, user__email="desk2@example.com").user


@pytest.fixture
def stranger():
    return UserFactory(email="stranger@example.com")


def hours_ago(hours: int):
    return timezone.now() - timedelta(hours=hours)
