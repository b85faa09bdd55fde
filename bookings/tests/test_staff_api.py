"""Owner/staff booking endpoints: the organization's list (filters, tenancy, query count) and the
staff actions (cancel, check-in, check-out, move)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.models import Booking, BookingEvent, BookingStatus
from parking.tests.factories import make_facility, make_spot, make_zone
from pricing import services as pricing_services
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


def _url(organization, booking=None, action=""):
    base = f"/api/v1/organizations/{organization.pk}/bookings/"
    if booking is None:
        return base
    return f"{base}{booking.pk}/{action}/"


def _book(vehicle, facility, spot, start, end):
    return services.booking_create(
        services.BookingRequest(
            driver=vehicle.owner, vehicle=vehicle, facility=facility, spot=spot, start=start, end=end
        )
    )


@pytest.fixture
def zone_b(facility):
    return make_zone(facility, name="Level 2", level=2)


@pytest.fixture
def spot_b(zone_b):
    return make_spot(zone_b, "B-2")


@pytest.fixture
def other_facility_spot(org_a):
    other = make_facility(org_a, name="Annex", requires_prepayment=False)
    pricing_services.rule_create(
        facility=other,
        data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}},
    )
    return make_spot(make_zone(other), "X-1")


@pytest.fixture
def booking(car, facility, spot, window):
    return _book(car, facility, spot, *window)


def _last_event(booking):
    return BookingEvent.objects.filter(booking=booking).order_by("created_at", "id").last()


def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# ---------------------------------------------------------------------------------------- list
def test_list_filters(auth_client, staff_a, car, facility, spot, spot_b, other_facility_spot, window):
    start, end = window
    second_car = VehicleFactory(owner=UserFactory(), vehicle_type="standard")
    first = _book(car, facility, spot, start, end)
    later = _book(second_car, facility, spot_b, start + timedelta(days=1), end + timedelta(days=1))
    annex = _book(
        second_car,
        other_facility_spot.facility,
        other_facility_spot,
        start + timedelta(hours=2),
        end + timedelta(hours=2),
    )
    services.booking_cancel(booking_id=annex.pk, actor=second_car.owner, reason="plans changed")
    client = auth_client(staff_a)

    everything = client.get(_url(first.organization))
    assert _ids(everything) == [str(first.pk), str(annex.pk), str(later.pk)]  # by start
    assert everything.json()["count"] == 3
    rows = {row["id"]: row for row in everything.json()["results"]}
    assert rows[str(first.pk)]["plate"] == car.plate
    assert rows[str(first.pk)]["spot_code"] == "A-1"

    assert _ids(client.get(_url(first.organization), {"facility": facility.pk})) == [str(first.pk), str(later.pk)]
    assert _ids(client.get(_url(first.organization), {"status": "cancelled"})) == [str(annex.pk)]
    assert _ids(client.get(_url(first.organization), {"status": "confirmed", "facility": facility.pk})) == [
        str(first.pk),
        str(later.pk),
    ]
    assert _ids(client.get(_url(first.organization), {"date_from": later.start.isoformat()})) == [str(later.pk)]
    assert set(_ids(client.get(_url(first.organization), {"date_to": end.isoformat()}))) == {
        str(first.pk),
        str(annex.pk),
    }
    # Any spelling of the exact plate, matched through the blind index.
    spelled = "-".join([car.plate[:3].lower(), car.plate[3:]])
    assert _ids(client.get(_url(first.organization), {"plate": spelled})) == [str(first.pk)]
    assert set(_ids(client.get(_url(first.organization), {"plate": second_car.plate}))) == {
        str(later.pk),
        str(annex.pk),
    }
    assert _ids(client.get(_url(first.organization), {"plate": "ZZZ999"})) == []


def test_list_is_ordered_by_start(auth_client, owner_a, car, facility, spot, spot_b, window):
    start, end = window
    later = _book(car, facility, spot, start + timedelta(days=1), end + timedelta(days=1))
    earlier = _book(car, facility, spot_b, start, end)

    assert _ids(auth_client(owner_a).get(_url(facility.organization))) == [str(earlier.pk), str(later.pk)]


def test_invalid_plate_is_400_on_plate(auth_client, manager_a, booking):
    response = auth_client(manager_a).get(_url(booking.organization), {"plate": "!!"})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["attr"], error["code"]) == ("plate", "invalid_plate")
    assert "!!" not in error["detail"]


def test_bad_status_filter_is_400(auth_client, staff_a, booking):
    response = auth_client(staff_a).get(_url(booking.organization), {"status": "lost"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "status"


def test_list_query_count_does_not_grow(auth_client, staff_a, car, facility, spot, window):
    start, end = window
    client = auth_client(staff_a)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url(facility.organization))
        assert response.status_code == 200
        return len(queries), response.json()["count"]

    for day in range(2):
        _book(car, facility, spot, start + timedelta(days=day), end + timedelta(days=day))
    with_two = count_queries()
    for day in range(2, 10):
        _book(car, facility, spot, start + timedelta(days=day), end + timedelta(days=day))
    with_ten = count_queries()

    assert (with_two[1], with_ten[1]) == (2, 10)
    assert with_two[0] == with_ten[0]


# ---------------------------------------------------------------------------------------- tenancy
def test_other_organization_is_404_and_nothing_changes(auth_client, owner_b, org_b, booking, spot, spot_b):
    client = auth_client(owner_b)
    events = BookingEvent.objects.count()

    assert client.get(_url(booking.organization)).status_code == 404
    for action, body in (
        ("cancel", {"reason": "x"}),
        ("check-in", {}),
        ("check-out", {}),
        ("move", {"spot": spot_b.pk}),
    ):
        assert client.post(_url(booking.organization, booking, action), body, format="json").status_code == 404
        # Their own organization's URL does not reach another organization's booking either.
        assert client.post(_url(org_b, booking, action), body, format="json").status_code == 404

    booking.refresh_from_db()
    assert (booking.status, booking.spot_id, booking.refund_amount) == (BookingStatus.CONFIRMED, spot.pk, None)
    assert BookingEvent.objects.count() == events


def test_driver_who_is_not_a_member_is_404(auth_client, driver, booking):
    assert auth_client(driver).get(_url(booking.organization)).status_code == 404
    response = auth_client(driver).post(_url(booking.organization, booking, "cancel"), {"reason": "x"}, format="json")
    assert response.status_code == 404
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


# ---------------------------------------------------------------------------------------- actions
def test_staff_cancel_records_refund_and_event(auth_client, staff_a, booking):
    response = auth_client(staff_a).post(
        _url(booking.organization, booking, "cancel"), {"reason": "Spot flooded"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["refund_amount"] == booking.total
    assert response.json()["booking"]["status"] == "cancelled"
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.refund_amount, stored.cancellation_reason) == (
        BookingStatus.CANCELLED,
        booking.total,
        "Spot flooded",
    )
    event = _last_event(booking)
    assert (event.from_status, event.to_status, event.actor_id, event.reason) == (
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        staff_a.pk,
        "Spot flooded",
    )


@pytest.mark.parametrize("body", [{}, {"reason": ""}])
def test_staff_cancel_requires_a_reason(auth_client, staff_a, booking, body):
    response = auth_client(staff_a).post(_url(booking.organization, booking, "cancel"), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "reason"
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


def test_staff_check_in_and_check_out(auth_client, staff_a, booking, facility):
    facility.early_checkin_minutes = 3 * 24 * 60  # the booking starts in two days
    facility.save()
    client = auth_client(staff_a)

    checked_in = client.post(_url(booking.organization, booking, "check-in"), format="json")
    assert checked_in.status_code == 200, checked_in.json()
    assert checked_in.json()["status"] == "checked_in"
    assert (_last_event(booking).to_status, _last_event(booking).actor_id) == (BookingStatus.CHECKED_IN, staff_a.pk)

    checked_out = client.post(_url(booking.organization, booking, "check-out"), format="json")
    assert checked_out.status_code == 200, checked_out.json()
    stored = Booking.objects.get(pk=booking.pk)
    assert stored.status == BookingStatus.COMPLETED
    assert stored.checked_out_at is not None
    assert (_last_event(booking).from_status, _last_event(booking).actor_id) == (BookingStatus.CHECKED_IN, staff_a.pk)


def test_staff_check_in_too_early_is_409(auth_client, staff_a, booking):
    response = auth_client(staff_a).post(_url(booking.organization, booking, "check-in"), format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "check_in_too_early"


def test_move_to_free_compatible_spot(auth_client, staff_a, booking, spot_b, zone_b):
    response = auth_client(staff_a).post(
        _url(booking.organization, booking, "move"), {"spot": spot_b.pk}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["spot"], response.json()["spot_code"]) == (spot_b.pk, "B-2")
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.spot_id, stored.zone_id, stored.status, stored.total) == (
        spot_b.pk,
        zone_b.pk,
        BookingStatus.CONFIRMED,
        booking.total,
    )
    event = _last_event(booking)
    assert (event.from_status, event.to_status, event.actor_id, event.reason) == (
        BookingStatus.CONFIRMED,
        BookingStatus.CONFIRMED,
        staff_a.pk,
        "moved from A-1 to B-2",
    )


def test_move_to_taken_spot_is_409_and_unchanged(auth_client, staff_a, booking, facility, spot, spot_b, window):
    rival = _book(VehicleFactory(owner=UserFactory(), vehicle_type="standard"), facility, spot_b, *window)
    events = BookingEvent.objects.count()

    response = auth_client(staff_a).post(
        _url(booking.organization, booking, "move"), {"spot": spot_b.pk}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "spot_unavailable"
    assert Booking.objects.get(pk=booking.pk).spot_id == spot.pk
    assert Booking.objects.get(pk=rival.pk).spot_id == spot_b.pk
    assert BookingEvent.objects.count() == events


def test_move_to_spot_of_another_facility_is_400(auth_client, staff_a, booking, spot, other_facility_spot):
    response = auth_client(staff_a).post(
        _url(booking.organization, booking, "move"), {"spot": other_facility_spot.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "spot"
    assert Booking.objects.get(pk=booking.pk).spot_id == spot.pk


def test_move_to_spot_the_vehicle_does_not_fit_is_400(auth_client, staff_a, booking, spot, zone_b):
    small = make_spot(zone_b, "S-1", size="small")

    response = auth_client(staff_a).post(_url(booking.organization, booking, "move"), {"spot": small.pk}, format="json")

    assert response.status_code == 400
    assert (response.json()["errors"][0]["code"], response.json()["errors"][0]["attr"]) == (
        "vehicle_does_not_fit",
        "spot",
    )
    assert Booking.objects.get(pk=booking.pk).spot_id == spot.pk


def test_move_of_cancelled_booking_is_409(auth_client, staff_a, booking, driver, spot, spot_b):
    services.booking_cancel(booking_id=booking.pk, actor=driver, reason="")

    response = auth_client(staff_a).post(
        _url(booking.organization, booking, "move"), {"spot": spot_b.pk}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_transition"
    assert Booking.objects.get(pk=booking.pk).spot_id == spot.pk


# ---------------------------------------------------------------------------------------- GET /bookings/ for members
LIST = "/api/v1/bookings/"


def test_bookings_list_shows_members_their_organizations_bookings_with_filters(
    auth_client, staff_a, owner_b, car, facility, spot, spot_b, window
):
    start, end = window
    first = _book(car, facility, spot, start, end)
    second_car = VehicleFactory(owner=UserFactory(), vehicle_type="standard")
    later = _book(second_car, facility, spot_b, start + timedelta(days=1), end + timedelta(days=1))
    client = auth_client(staff_a)

    everything = client.get(LIST)
    assert _ids(everything) == [str(later.pk), str(first.pk)]  # newest start first
    assert everything.json()["results"][1]["plate"] == car.plate
    spelled = f"{car.plate[:3].lower()} {car.plate[3:]}"
    assert _ids(client.get(LIST, {"plate": spelled})) == [str(first.pk)]
    assert _ids(client.get(LIST, {"facility": facility.pk, "date_from": later.start.isoformat()})) == [str(later.pk)]
    assert _ids(client.get(LIST, {"status": "cancelled"})) == []
    assert _ids(client.get(LIST, {"scope": "driver"})) == []  # staff_a booked nothing themselves
    assert client.get(f"{LIST}{first.pk}/").json()["reference"] == first.reference

    # Another organization's member sees none of it, and cannot open it.
    assert _ids(auth_client(owner_b).get(LIST)) == []
    assert auth_client(owner_b).get(LIST, {"plate": car.plate}).json()["count"] == 0
    assert auth_client(owner_b).get(f"{LIST}{first.pk}/").status_code == 404


def test_bookings_list_mixes_own_and_organization_bookings_and_scope_narrows(
    auth_client, owner_a, car, facility, spot, spot_b, window
):
    start, end = window
    theirs = _book(car, facility, spot, start, end)
    own_car = VehicleFactory(owner=owner_a, vehicle_type="standard")
    own = _book(own_car, facility, spot_b, start, end)  # the owner parks at their own garage
    client = auth_client(owner_a)

    assert set(_ids(client.get(LIST))) == {str(theirs.pk), str(own.pk)}
    assert _ids(client.get(LIST, {"scope": "driver"})) == [str(own.pk)]
    assert set(_ids(client.get(LIST, {"scope": "organization"}))) == {str(theirs.pk), str(own.pk)}
    bad = client.get(LIST, {"scope": "everyone"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["attr"] == "scope"


def test_bookings_list_for_a_driver_is_only_their_own(auth_client, driver, car, facility, spot, spot_b, window):
    start, end = window
    mine = _book(car, facility, spot, start, end)
    _book(VehicleFactory(owner=UserFactory(), vehicle_type="standard"), facility, spot_b, start, end)

    assert _ids(auth_client(driver).get(LIST)) == [str(mine.pk)]
    assert _ids(auth_client(driver).get(LIST, {"scope": "organization"})) == []


def test_members_cannot_act_as_the_driver_through_driver_endpoints(auth_client, staff_a, booking):
    response = auth_client(staff_a).post(f"{LIST}{booking.pk}/cancel/", {"reason": "x"})
    assert response.status_code == 404  # staff cancel through organizations/{id}/bookings/{id}/cancel/
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
