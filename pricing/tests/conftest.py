import pytest

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, OrganizationFactory
from parking.tests.factories import make_facility, make_spot, make_zone
from pricing import services


@pytest.fixture
def org():
    return OrganizationFactory(name="Alpha Parking", slug="alpha")


@pytest.fixture
def other_org():
    return OrganizationFactory(name="Beta Parking", slug="beta")


@pytest.fixture
def owner(org):
    return MembershipFactory(organization=org, role=Role.OWNER, user__email="owner@example.com").user


@pytest.fixture
def staff(org):
    return MembershipFactory(organization=org, role=Role.STAFF, user__email="staff@example.com").user


@pytest.fixture
def other_owner(other_org):
    return MembershipFactory(organization=other_org, role=Role.OWNER, user__email="other@example.com").user


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
