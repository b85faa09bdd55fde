import pytest

from parking.tests.factories import make_facility, make_spot, make_zone
from pricing import services


# Shorter names for the shared tenancy fixtures (accounts/tests/fixtures.py).
@pytest.fixture
def org(org_a):
    return org_a


@pytest.fixture
def other_org(org_b):
    return org_b


@pytest.fixture
def owner(owner_a):
    return owner_a


@pytest.fixture
def staff(staff_a):
    return staff_a


@pytest.fixture
def other_owner(owner_b):
    return owner_b


@pytest.fixture
def facility(org):
    return make_facility(org, name="Garage", timezone="America/New_York")


@pytest.fixture
def zone(facility):
    return make_zone(facility)


@pytest.fixture
def spot(zone):
    return make_spot(zone, "A-1")


@pytest.fixture
def hourly_rule(facility):
    return services.rule_create(
        facility=facility,
        data={"name": "Standard hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}},
    )
