"""The live event stream: each subscriber receives exactly its own events (drivers their bookings',
members their organizations'), through Redis pub/sub; token and session authentication."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from bookings import services as booking_services
from parking.tests.factories import make_facility, make_spot, make_zone
from pricing import services as pricing_services
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

STREAM = "/api/v1/events/stream/"


def _open(user=None, **params):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    response = client.get(STREAM, params, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200, response.content
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 3000\n\n"  # subscribed from here on
    return chunks


def _events(chunks):
    events = []
    for chunk in chunks:
        if chunk.startswith(b"id: "):
            lines = dict(line.split(": ", 1) for line in chunk.decode().strip().split("\n"))
            events.append((lines["event"], json.loads(lines["data"])["data"]))
    return events


def _garage(org, name):
    facility = make_facility(org, name=name, requires_prepayment=False)
    pricing_services.rule_create(
        facility=facility,
        data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}},
    )
    return make_spot(make_zone(facility), f"{name}-1")


def test_each_subscriber_receives_exactly_its_own_events(
    settings, org_a, org_b, owner_a, owner_b, window, django_capture_on_commit_callbacks
):
    settings.LIVE_STREAM_SECONDS = 2
    spot_a, spot_b = _garage(org_a, "A"), _garage(org_b, "B")
    drivers = [UserFactory(email=f"live{n}@example.com") for n in range(2)]
    streams = {
        name: _open(user) for name, user in (("d0", drivers[0]), ("d1", drivers[1]), ("oa", owner_a), ("ob", owner_b))
    }

    start, end = window
    with django_capture_on_commit_callbacks(execute=True):
        mine = booking_services.booking_create(
            booking_services.BookingRequest(
                driver=drivers[0],
                vehicle=VehicleFactory(owner=drivers[0], vehicle_type="standard"),
                facility=spot_a.facility,
                spot=spot_a,
                start=start,
                end=end,
            )
        )
    with django_capture_on_commit_callbacks(execute=True):
        theirs = booking_services.booking_create(
            booking_services.BookingRequest(
                driver=drivers[1],
                vehicle=VehicleFactory(owner=drivers[1], vehicle_type="standard"),
                facility=spot_b.facility,
                spot=spot_b,
                start=start,
                end=end,
            )
        )

    received = {name: _events(chunks) for name, chunks in streams.items()}
    assert [(kind, data["reference"]) for kind, data in received["d0"]] == [("booking.created", mine.reference)]
    assert [(kind, data["reference"]) for kind, data in received["d1"]] == [("booking.created", theirs.reference)]
    assert [kind for kind, _ in received["oa"]] == ["booking.created", "spot.availability"]
    assert {data.get("facility") for _, data in received["oa"]} == {spot_a.facility_id}
    assert [kind for kind, _ in received["ob"]] == ["booking.created", "spot.availability"]
    assert {data.get("facility") for _, data in received["ob"]} == {spot_b.facility_id}


def test_stream_token_session_and_refusals(settings, auth_client, driver, client, admin_user):
    settings.LIVE_STREAM_SECONDS = 0
    token = auth_client(driver).post("/api/v1/events/stream-token/").json()["token"]
    assert list(_open(token=token)) == []  # authenticated by the token; ends at once here
    anonymous = APIClient().get(STREAM, {"token": token + "x"}, HTTP_ACCEPT="text/event-stream")
    assert (anonymous.status_code, anonymous.json()["errors"][0]["code"]) == (401, "not_authenticated")
    client.force_login(admin_user)  # the back-office session (the dashboard)
    assert client.get(STREAM, HTTP_ACCEPT="text/event-stream").status_code == 200

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    quiet = APIClient(raise_request_exception=False)  # a 503 is reported like a server error
    quiet.force_authenticate(driver)
    no_redis = quiet.get(STREAM)
    assert (no_redis.status_code, no_redis.json()["errors"][0]["code"]) == (503, "live_events_unavailable")
