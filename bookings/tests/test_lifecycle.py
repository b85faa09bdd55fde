"""Check-in, check-out (early exit, overstay) and extension."""

import re
from datetime import timedelta

import pytest

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.exceptions import InvalidTransitionError, SpotUnavailableError
from bookings.models import Booking, BookingStatus
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(driver, car, facility, spot, window):
    start, end = window
    return services.booking_create(
        services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )


def test_check_in_window(booking, driver):
    with pytest.raises(services.CheckInTooEarlyError):
        services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start - timedelta(minutes=16))

    checked_in = services.booking_check_in(
        booking_id=booking.pk, actor=driver, at=booking.start - timedelta(minutes=15)
    )

    assert checked_in.status == BookingStatus.CHECKED_IN
    assert checked_in.checked_in_at == booking.start - timedelta(minutes=15)


def test_check_out_on_time_has_no_extra(booking, driver):
    services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)

    done = services.booking_check_out(booking_id=booking.pk, actor=driver, at=booking.end)

    assert done.status == BookingStatus.COMPLETED
    assert (done.early_exit_refund_amount, done.overstay_amount) == (0, 0)


def test_prorated_early_exit_refund(booking, driver, facility):
    facility.early_exit_refund = "prorated"
    facility.early_exit_minimum_fee = 200
    facility.save()
    services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)

    # leaves after 1 h 20 min of 4 h: 2 whole unused hours → 2/4 of 4000 = 2000, minus 200
    done = services.booking_check_out(booking_id=booking.pk, actor=driver, at=booking.start + timedelta(minutes=80))

    assert done.early_exit_refund_amount == 1800


def test_overstay_beyond_grace_is_priced_by_the_rule(booking, driver):
    services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)

    within_grace = services.overstay_charge(
        booking=Booking.objects.get(pk=booking.pk), at=booking.end + timedelta(minutes=15)
    )
    done = services.booking_check_out(booking_id=booking.pk, actor=driver, at=booking.end + timedelta(minutes=61))

    assert within_grace == 0
    assert done.overstay_amount == 2000  # 61 minutes at 1000/h, hourly increments: 2 h


def test_overstay_flat_rate_per_started_hour(booking, driver, facility):
    facility.overstay_rate_per_hour = 1500
    facility.save()
    services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)

    done = services.booking_check_out(booking_id=booking.pk, actor=driver, at=booking.end + timedelta(minutes=90))

    assert done.overstay_amount == 3000


def test_cannot_check_out_without_checking_in(booking, driver):
    with pytest.raises(InvalidTransitionError):
        services.booking_check_out(booking_id=booking.pk, actor=driver)


def test_extension_adds_the_difference(booking, driver):
    quote = services.extension_quote(booking=booking, new_end=booking.end + timedelta(hours=2))

    extended, terms = services.booking_extend(
        booking_id=booking.pk, actor=driver, new_end=booking.end + timedelta(hours=2)
    )

    assert quote == terms
    assert (terms.parking_amount, terms.service_fee, terms.transaction_fee, terms.total) == (2000, 200, 50, 2250)
    assert extended.end == booking.end + timedelta(hours=2)
    assert (extended.parking_amount, extended.total) == (6000, 4450 + 2250)
    assert extended.total == extended.owner_payout + extended.platform_revenue


def test_extension_into_the_next_booking_names_when_it_is_taken(booking, driver, facility, spot):
    rival = UserFactory()
    rival_car = VehicleFactory(owner=rival, vehicle_type="standard")
    nxt = services.booking_create(
        services.BookingRequest(
            driver=rival,
            vehicle=rival_car,
            facility=facility,
            spot=spot,
            start=booking.end + timedelta(hours=1),
            end=booking.end + timedelta(hours=3),
        )
    )

    with pytest.raises(SpotUnavailableError, match=re.escape(nxt.start.isoformat())):
        services.booking_extend(booking_id=booking.pk, actor=driver, new_end=booking.end + timedelta(hours=2))

    booking.refresh_from_db()
    assert booking.total == 4450
    assert (
        services.booking_extend(booking_id=booking.pk, actor=driver, new_end=booking.end + timedelta(hours=1))[0].end
        == nxt.start
    )


def test_api_extension_and_check_in(auth_client, booking, driver):
    client = auth_client(driver)
    new_end = (booking.end + timedelta(hours=1)).isoformat()

    quote = client.post(f"/api/v1/bookings/{booking.pk}/extension-quote/", {"end": new_end}, format="json")
    extended = client.post(f"/api/v1/bookings/{booking.pk}/extend/", {"end": new_end}, format="json")
    too_early = client.post(f"/api/v1/bookings/{booking.pk}/check-in/")

    assert quote.status_code == 200
    assert quote.json()["total"] == 1150
    assert extended.status_code == 200
    assert extended.json()["booking"]["total"] == 4450 + 1150
    assert too_early.status_code == 409
    assert too_early.json()["errors"][0]["code"] == "check_in_too_early"
