import pytest

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings/"


def _body(vehicle, start, end, **extra):
    return {"vehicle": str(vehicle.pk), "start": start.isoformat(), "end": end.isoformat(), **extra}


def test_driver_journey_book_list_preview_cancel(auth_client, driver, car, facility, spot, window):
    client = auth_client(driver)
    start, end = window

    created = client.post(BOOKINGS, _body(car, start, end, facility=facility.pk), format="json")
    assert created.status_code == 201, created.json()
    booking = created.json()
    assert (booking["status"], booking["spot"], booking["spot_code"], booking["total"]) == (
        "confirmed",
        spot.pk,
        "A-1",
        4450,
    )
    assert booking["quote"]["applied_rule"] == "Hourly"

    listing = client.get(BOOKINGS).json()
    assert [b["id"] for b in listing["results"]] == [booking["id"]]

    preview = client.get(f"{BOOKINGS}{booking['id']}/cancellation-preview/").json()
    cancelled = client.post(f"{BOOKINGS}{booking['id']}/cancel/", {"reason": "rain"}, format="json")
    assert cancelled.status_code == 200
    assert cancelled.json()["refund_amount"] == preview["refund_amount"] == 4450
    assert cancelled.json()["booking"]["status"] == "cancelled"

    again = client.post(f"{BOOKINGS}{booking['id']}/cancel/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "invalid_transition"


def test_taken_spot_is_409_spot_unavailable(auth_client, driver, car, facility, spot, window):
    start, end = window
    auth_client(driver).post(BOOKINGS, _body(car, start, end, spot=spot.pk), format="json")
    rival = UserFactory()
    rival_car = VehicleFactory(owner=rival, vehicle_type="standard")

    response = auth_client(rival).post(BOOKINGS, _body(rival_car, start, end, spot=spot.pk), format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "spot_unavailable"
    assert Booking.objects.count() == 1


def test_someone_elses_vehicle_is_400_and_nothing_written(auth_client, driver, facility, spot, window):
    other_car = VehicleFactory(owner=UserFactory(), vehicle_type="standard")

    response = auth_client(driver).post(BOOKINGS, _body(other_car, *window, spot=spot.pk), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "vehicle"
    assert not Booking.objects.exists()


def test_other_drivers_booking_is_404(auth_client, driver, car, facility, spot, window):
    booking = auth_client(driver).post(BOOKINGS, _body(car, *window, spot=spot.pk), format="json").json()
    stranger = auth_client(UserFactory())

    assert stranger.get(f"{BOOKINGS}{booking['id']}/").status_code == 404
    assert stranger.post(f"{BOOKINGS}{booking['id']}/cancel/", {}, format="json").status_code == 404
    assert Booking.objects.get().status == "confirmed"


def test_missing_spot_and_facility_is_400(auth_client, driver, car, window):
    response = auth_client(driver).post(BOOKINGS, _body(car, *window), format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "facility"


def test_anonymous_is_401(api_client):
    assert api_client.get(BOOKINGS).status_code == 401


def test_idempotent_create_replays_the_same_booking(auth_client, driver, car, facility, spot, window):
    client = auth_client(driver)
    body = _body(car, *window, spot=spot.pk)

    first = client.post(BOOKINGS, body, format="json", HTTP_IDEMPOTENCY_KEY="book-once-123")
    replay = client.post(BOOKINGS, body, format="json", HTTP_IDEMPOTENCY_KEY="book-once-123")
    changed = client.post(BOOKINGS, {**body, "promo_code": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="book-once-123")

    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Booking.objects.count() == 1
