"""Booking fixtures shared by every app's tests (registered in the root conftest): a facility of org A
with an hourly 1000/h rule, a zone, spot A-1, a driver with a standard car, and a window two days ahead."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from parking.tests.factories import make_facility, make_spot, make_zone
from pricing import services as pricing_services
from vehicles.tests.factories import VehicleFactory


@pytest.fixture
def facility(org_a):
    facility = make_facility(org_a, name="Garage", requires_prepayment=False)
    pricing_services.rule_create(
        facility=facility,
        data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}},
    )
    return facility


@pytest.fixture
def zone(facility):
    return make_zone(facility)


@pytest.fixture
def spot(zone):
    return make_spot(zone, "A-1")


@pytest.fixture
def driver():
    return UserFactory(email="driver@example.com")


@pytest.fixture
def car(driver):
    return VehicleFactory(owner=driver, vehicle_type="standard")


@pytest.fixture
def window():
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=4)


@pytest.fixture
def sandbox_provider(settings):
    """The demo payment provider switched on (a payment succeeds through ``payment_sandbox_confirm``)."""
    from payments.providers import providers_reset

    providers = dict(settings.PAYMENT_PROVIDERS)
    providers["sandbox"] = {**providers["sandbox"], "config": {"enabled": True}}
    settings.PAYMENT_PROVIDERS = providers
    providers_reset()
    yield
    providers_reset()
