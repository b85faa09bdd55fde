from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.exceptions import (
    InvalidTransitionError,
    QuoteExpiredError,
    QuoteMismatchError,
    SpotUnavailableError,
    VehicleDoesNotFitError,
)
from bookings.models import Booking, BookingEvent, BookingStatus
from parking.exceptions import InvalidWindowError
from parking.tests.factories import make_spot
from pricing.models import Quote
from pricing.services import QuoteRequest, quote_create
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


def _book(driver, vehicle, facility, start, end, **extra):
    return services.booking_create(
        services.BookingRequest(driver=driver, vehicle=vehicle, facility=facility, start=start, end=end, **extra)
    )


def test_booking_stores_the_quoted_amounts_and_history(driver, car, facility, spot, window):
    start, end = window

    booking = _book(driver, car, facility, start, end, spot=spot)

    assert booking.status == BookingStatus.CONFIRMED  # the facility does not require prepayment
    assert (booking.parking_amount, booking.service_fee, booking.transaction_fee, booking.total) == (
        4000,
        400,
        50,
        4450,
    )
    assert booking.reference.startswith("PKM-")
    assert len(booking.reference) == 12
    assert not set(booking.reference[4:]) & set("0O1ILU")
    assert booking.plate == car.plate
    assert list(BookingEvent.objects.filter(booking=booking).values_list("from_status", "to_status")) == [
        ("", "confirmed")
    ]


def test_prepaid_facility_starts_with_a_hold(driver, car, facility, spot, window):
    facility.requires_prepayment = True
    facility.save()

    booking = _book(driver, car, facility, *window, spot=spot)

    assert booking.status == BookingStatus.PENDING_PAYMENT
    assert timedelta(minutes=14) < booking.hold_expires_at - timezone.now() <= timedelta(minutes=15)


def test_overlap_is_refused_but_back_to_back_is_fine(driver, car, facility, spot, window):
    start, end = window
    _book(driver, car, facility, start, end, spot=spot)
    other = VehicleFactory(owner=UserFactory(), vehicle_type="standard")

    with pytest.raises(SpotUnavailableError):
        _book(other.owner, other, facility, start + timedelta(hours=1), end + timedelta(hours=1), spot=spot)
    after = _book(other.owner, other, facility, end, end + timedelta(hours=2), spot=spot)

    assert after.start == end
    assert Booking.objects.count() == 2


def test_cancel_then_rebook(driver, car, facility, spot, window):
    first = _book(driver, car, facility, *window, spot=spot)
    services.booking_cancel(booking_id=first.pk, actor=driver, reason="plans changed")

    again = _book(driver, car, facility, *window, spot=spot)

    assert again.status == BookingStatus.CONFIRMED


def test_facility_booking_picks_the_smallest_fitting_spot(driver, zone, facility, window):
    make_spot(zone, "XL-1", size="xlarge")
    make_spot(zone, "L-1", size="large")
    medium = make_spot(zone, "M-1", size="medium")
    make_spot(zone, "S-1", size="small")  # too small for a standard car
    car = VehicleFactory(owner=driver, vehicle_type="standard")

    booking = _book(driver, car, facility, *window)

    assert booking.spot_id == medium.pk


def test_van_does_not_fit_a_medium_spot(driver, facility, spot, window):
    van = VehicleFactory(owner=driver, vehicle_type="van")

    with pytest.raises(VehicleDoesNotFitError):
        _book(driver, van, facility, *window, spot=spot)

    assert not Booking.objects.exists()


def test_window_in_the_past_is_refused(driver, car, facility, spot):
    start = timezone.now() - timedelta(days=1)

    with pytest.raises(InvalidWindowError):
        _book(driver, car, facility, start, start + timedelta(hours=2), spot=spot)
    assert not Booking.objects.exists()


def test_quote_must_match_and_be_unexpired(driver, car, facility, spot, window):
    start, end = window
    quote = quote_create(QuoteRequest(facility=facility, spot=spot, start=start, end=end, vehicle_type="standard"))

    with pytest.raises(QuoteMismatchError):
        _book(driver, car, facility, start, end + timedelta(hours=1), spot=spot, quote_id=quote.pk)
    Quote.objects.filter(pk=quote.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(QuoteExpiredError):
        _book(driver, car, facility, start, end, spot=spot, quote_id=quote.pk)
    assert not Booking.objects.exists()


def test_quoted_booking_charges_exactly_the_quote(driver, car, facility, spot, window):
    start, end = window
    quote = quote_create(QuoteRequest(facility=facility, spot=spot, start=start, end=end, vehicle_type="standard"))

    booking = _book(driver, car, facility, start, end, spot=spot, quote_id=quote.pk)

    assert booking.quote_id == quote.pk
    assert booking.total == quote.total


class TestCancellation:
    def test_free_cancellation_refunds_everything(self, driver, car, facility, spot, window):
        booking = _book(driver, car, facility, *window, spot=spot)

        preview = services.cancellation_preview(booking=booking)
        cancelled, terms = services.booking_cancel(booking_id=booking.pk, actor=driver, reason="x")

        assert preview == terms
        assert (terms.refund_amount, terms.free) == (4450, True)
        assert cancelled.refund_amount == 4450
        assert cancelled.status == BookingStatus.CANCELLED

    def test_late_cancellation_keeps_the_fee_and_platform_fees(self, driver, car, facility, spot):
        start = (timezone.now() + timedelta(minutes=30)).replace(second=0, microsecond=0)
        booking = _book(driver, car, facility, start, start + timedelta(hours=4), spot=spot)

        terms = services.cancellation_preview(booking=booking)

        # 50 % of 4000 parking kept by the owner, 450 platform fees kept: 4450 - 2450 = 2000 back
        assert (terms.refund_amount, terms.kept_amount, terms.free) == (2000, 2450, False)

    def test_cancelled_booking_cannot_be_cancelled_again(self, driver, car, facility, spot, window):
        booking = _book(driver, car, facility, *window, spot=spot)
        services.booking_cancel(booking_id=booking.pk, actor=driver)

        with pytest.raises(InvalidTransitionError):
            services.booking_cancel(booking_id=booking.pk, actor=driver)
        assert BookingEvent.objects.filter(booking=booking).count() == 2


def test_expired_holds_release_the_spot(driver, car, facility, spot, window):
    facility.requires_prepayment = True
    facility.save()
    booking = _book(driver, car, facility, *window, spot=spot)

    assert services.bookings_expire_unpaid(now=timezone.now()) == 0
    assert services.bookings_expire_unpaid(now=timezone.now() + timedelta(minutes=16)) == 1
    assert services.bookings_expire_unpaid(now=timezone.now() + timedelta(minutes=16)) == 0  # idempotent

    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    other = VehicleFactory(owner=UserFactory(), vehicle_type="standard")
    assert _book(other.owner, other, facility, *window, spot=spot).status == BookingStatus.PENDING_PAYMENT


def test_raw_overlapping_insert_is_rejected_by_the_constraint(driver, car, facility, spot, window):
    booking = _book(driver, car, facility, *window, spot=spot)
    clone = Booking.objects.get(pk=booking.pk)
    clone.pk = None
    clone.reference = "PKM-RAWINSRT"

    with pytest.raises(IntegrityError, match="booking_no_overlap"), transaction.atomic():
        Booking.objects.bulk_create([clone])  # bypasses the service entirely

    assert Booking.objects.count() == 1


def test_availability_sees_bookings(api_client, driver, car, facility, spot, window):
    start, end = window
    _book(driver, car, facility, start, end, spot=spot)

    response = api_client.get(
        f"/api/v1/facilities/{facility.pk}/availability/", {"start": start.isoformat(), "end": end.isoformat()}
    )

    assert response.json()["total_available"] == 0
    assert api_client.get(f"/api/v1/spots/{spot.pk}/").json()["current_status"] == "available"  # not yet started


def test_demo_bookings_cover_the_statuses_and_are_idempotent():
    import io

    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    first = sorted(Booking.objects.values_list("status", flat=True))
    call_command("seed_demo", stdout=io.StringIO())

    assert sorted(Booking.objects.values_list("status", flat=True)) == first
    assert set(first) == {"pending_payment", "confirmed", "checked_in", "cancelled", "expired", "completed"}


def test_expiry_job_is_scheduled_and_runs_by_name(driver, car, facility, spot, window):
    import io

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    facility.requires_prepayment = True
    facility.save()
    booking = _book(driver, car, facility, *window, spot=spot)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()

    call_command("run_job", "bookings: expire unpaid holds", stdout=out)

    assert PeriodicTask.objects.get(name="bookings: expire unpaid holds").task == "bookings.expire_unpaid_holds"
    assert PeriodicTask.objects.filter(name="idempotency: purge old records").exists()
    assert "bookings.expire_unpaid_holds: 1" in out.getvalue()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
