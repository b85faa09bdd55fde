import pytest

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, OrganizationFactory

from .factories import make_facility, make_spot, make_zone


@pytest.fixture
def org_a():
    return OrganizationFactory(name="Alpha Parking", slug="alpha")


@pytest.fixture
def org_b():
    return OrganizationFactory(name="Beta Parking", slug="beta")


@pytest.fixture
def owner_a(org_a):
    return MembershipFactory(organization=org_a, role=Role.OWNER, user__email="owner-a@example.com").user


@pytest.fixture
def manager_a(org_a):
    return MembershipFactory(organization=org_a, role=Role.MANAGER, user__email="manager-a@example.com").user


@pytest.fixture
def staff_a(org_a):
    return MembershipFactory(organization=org_a, role=Role.STAFF, user__email="staff-a@example.com").user


@pytest.fixture
def owner_b(org_b):
    return MembershipFactory(organization=org_b, role=Role.OWNER, user__email="owner-b@example.com").user


@pytest.fixture
def garage_a(org_a):
    return make_facility(org_a, name="Alpha Garage")


@pytest.fixture
def zone_a(garage_a):
    return make_zone(garage_a)


@pytest.fixture
def spot_a(zone_a):
    return make_spot(zone_a, "A-101")


@pytest.fixture
def garage_b(org_b):
    facility = make_facility(org_b, name="Beta Garage")
    make_spot(make_zone(facility), "B-1")
    return facility
