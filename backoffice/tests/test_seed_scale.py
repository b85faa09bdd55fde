"""seed_scale builds a consistent dataset (every database constraint holds) and is rerunnable."""

import pytest
from django.core.management import call_command

from accounts.models import Organization, User
from bookings.models import Booking
from parking.models import Facility, Spot
from pricing.models import PricingRule

pytestmark = pytest.mark.django_db


def _run():
    call_command(
        "seed_scale", facilities=3, spots_per_facility=4, bookings=120, drivers=10, blocks_per_facility=1, stdout=None
    )


def test_seed_scale_builds_and_rebuilds_the_same_shape():
    _run()
    _run()  # rerunnable: the previous scale data is replaced, not added to
    organization = Organization.objects.get(slug="scale")
    assert Facility.objects.filter(organization=organization).count() == 3
    assert PricingRule.objects.filter(organization=organization).count() == 3
    assert User.objects.filter(email__endswith="@scale.test").count() == 10
    bookings = Booking.objects.filter(organization=organization)
    assert bookings.count() == 120
    statuses = set(bookings.values_list("status", flat=True))
    assert {"completed", "confirmed"} <= statuses
    assert bookings.values("driver").distinct().count() == 10
    active_spots = Spot.objects.filter(organization=organization, status="active").count()
    assert bookings.values("spot").distinct().count() == active_spots
