import pytest

from .factories import make_facility, make_spot, make_zone


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
