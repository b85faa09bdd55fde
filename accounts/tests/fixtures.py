"""Tenancy fixtures shared by every app's tests (registered in the root conftest): two
organizations A and B, with an owner, a manager and a staff member in A and an owner in B."""

import pytest

from accounts.models import Role

from .factories import MembershipFactory, OrganizationFactory


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
