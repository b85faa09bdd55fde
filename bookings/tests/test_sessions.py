"""Drive-in sessions: horizon rule, parked cars keep their spot, fee from the actual duration."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services, sessions
from bookings.exceptions import SpotUnavailableError
from bookings.models import Booking, BookingStatus
from parking.tests.factories import make_spot

pytestmark = pytest.mark.django_db


def test_staff_opens_and_ends_a_session_via_the_api(auth_client, staff_a, facility, spot):
    client = auth_client(staff_a)

    opened = client.post(
        "/api/v1/bookings/drive-in/",
        {"facility": facility.pk, "plate": "ab-12 cd", "vehicle_type": "standard"},
        format="json",
    )

    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert body["booking"]["status"] == "checked_in"
    assert body["booking"]["kind"] == "drive_in"
    assert body["booking"]["plate"] == "AB12CD"
    assert body["credential"]["payload"].startswith("PK1.")
    booking = Booking.objects.get(pk=body["booking"]["id"])
    Booking.objects.filter(pk=booking.pk).update(start=booking.start - timedelta(minutes=150))

    ended = client.post(f"/api/v1/bookings/{booking.pk}/end-session/")

    assert ended.status_code == 200
    assert ended.json()["status"] == "completed"
    assert (ended.json()["total"], ended.json()["parking_amount"]) == (3350, 3000)  # 2.5 h → 3 started hours


def test_same_plate_cannot_open_twice(staff_a, facility, spot):
    make_spot(spot.zone, "A-2")
    sessions.session_open(actor=staff_a, facility=facility, plate="AB12CD", vehicle_type="standard")

    with pytest.raises(sessions.SessionAlreadyOpenError):
        sessions.session_open(actor=staff_a, facility=facility, plate="ab 12 cd", vehicle_type="standard")


def test_a_spot_reserved_within_the_horizon_is_not_given_to_a_drive_in(driver, car, staff_a, facility, spot):
    start = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    services.booking_create(
        services.BookingRequest(
            driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=start + timedelta(hours=2)
        )
    )

    with pytest.raises(SpotUnavailableError):
        sessions.session_open(actor=staff_a, facility=facility, plate="XY99", vehicle_type="standard")
    assert Booking.objects.count() == 1


def test_a_parked_car_past_its_provisional_end_keeps_the_spot_for_soon_reservations(
    driver, car, staff_a, facility, spot
):
    session = sessions.session_open(actor=staff_a, facility=facility, plate="XY99", vehicle_type="standard")
    # The provisional end has passed but the car is still parked.
    Booking.objects.filter(pk=session.pk).update(
        start=timezone.now() - timedelta(hours=5), end=timezone.now() - timedelta(minutes=1)
    )
    soon = (timezone.now() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    later = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)

    with pytest.raises(SpotUnavailableError):
        services.booking_create(
            services.BookingRequest(
                driver=driver, vehicle=car, facility=facility, spot=spot, start=soon, end=soon + timedelta(hours=1)
            )
        )
    far = services.booking_create(
        services.BookingRequest(
            driver=driver, vehicle=car, facility=facility, spot=spot, start=later, end=later + timedelta(hours=1)
        )
    )

    assert far.status == BookingStatus.CONFIRMED


def test_other_organization_cannot_end_a_session(auth_client, owner_b, staff_a, facility, spot):
    session = sessions.session_open(actor=staff_a, facility=facility, plate="XY99", vehicle_type="standard")

    response = auth_client(owner_b).post(f"/api/v1/bookings/{session.pk}/end-session/")

    assert response.status_code == 404
    assert Booking.objects.get(pk=session.pk).status == BookingStatus.CHECKED_IN


def test_drive_in_for_a_facility_you_do_not_manage_is_400(auth_client, owner_b, facility, spot):
    response = auth_client(owner_b).post(
        "/api/v1/bookings/drive-in/",
        {"facility": facility.pk, "plate": "XY99", "vehicle_type": "standard"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "facility"
    assert not Booking.objects.exists()


def test_spot_shows_occupied_while_the_car_is_parked_past_its_end(api_client, staff_a, facility, spot):
    session = sessions.session_open(actor=staff_a, facility=facility, plate="XY99", vehicle_type="standard")
    Booking.objects.filter(pk=session.pk).update(
        start=timezone.now() - timedelta(hours=5), end=timezone.now() - timedelta(minutes=1)
    )

    assert api_client.get(f"/api/v1/spots/{spot.pk}/").json()["current_status"] == "occupied"
