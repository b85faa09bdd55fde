"""The offline contract: the signed snapshot (full and incremental, signature rejection) and the
event batch upload (each event once, in time order, flagged when the platform would have refused)."""

import random
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from django.utils import timezone

from bookings import services as booking_services
from bookings.credentials import b64url_decode, public_keys_from_jwks
from bookings.models import Booking, BookingStatus
from gates.models import GateEvent, ManualReview
from gates.snapshot import canonical
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def window():
    """Within the snapshot's 24-hour horizon (overrides the shared two-days-ahead window)."""
    start = (timezone.now() + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=4)


SNAPSHOT = "/api/v1/gates/snapshot/"
EVENTS = "/api/v1/gates/events/"


def _verify(snapshot) -> None:
    keys = public_keys_from_jwks(snapshot["data"]["credential_keys"])
    keys[snapshot["kid"]].verify(b64url_decode(snapshot["signature"]), canonical(snapshot["data"]))


def test_full_snapshot_is_signed_and_has_what_a_gate_needs(device, reservation, car):
    snapshot = device.get(SNAPSHOT).json()
    _verify(snapshot)
    data = snapshot["data"]
    assert data["full"] is True
    [row] = data["bookings"]
    assert row["reference"] == reservation.reference
    assert row["plate_index"] == reservation.plate_index
    assert row["status"] == "confirmed"
    assert car.plate not in str(snapshot)  # blind indexes only

    forged = {**snapshot, "data": {**data, "bookings": []}}
    with pytest.raises(InvalidSignature):
        _verify(forged)


def test_incremental_snapshot_has_adds_changes_and_removals(device, reservation, driver, zone, facility):
    version = device.get(SNAPSHOT).json()["data"]["version"]
    other_car = VehicleFactory(owner=driver)
    added = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver,
            vehicle=other_car,
            facility=facility,
            spot=make_spot(zone, "A-2"),
            start=reservation.start,
            end=reservation.end,
        )
    )
    booking_services.booking_cancel(booking_id=reservation.pk, actor=driver)

    delta = device.get(SNAPSHOT, {"since": version}).json()
    _verify(delta)
    assert delta["data"]["full"] is False
    assert [row["reference"] for row in delta["data"]["bookings"]] == [added.reference]
    assert delta["data"]["removed"] == [reservation.reference]

    later = device.get(SNAPSHOT, {"since": delta["data"]["version"] + 20_000_000}).json()
    assert (later["data"]["bookings"], later["data"]["removed"]) == ([], [])


def _event(event_id, kind, at, booking, decision="open"):
    return {
        "event_id": event_id,
        "kind": kind,
        "occurred_at": at.isoformat(),
        "booking_reference": booking.reference,
        "decision": decision,
    }


def test_event_batches_count_every_event_once_in_time_order(device, reservation, driver, zone, facility):
    second = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver,
            vehicle=VehicleFactory(owner=driver),
            facility=facility,
            spot=make_spot(zone, "A-2"),
            start=reservation.start,
            end=reservation.end,
        )
    )
    t0 = reservation.start
    batch = [
        _event("e1", "entry", t0, reservation),
        _event("e2", "entry", t0 + timedelta(minutes=5), second),
        _event("x1", "exit", t0 + timedelta(hours=2), reservation),
    ]
    shuffled = batch + random.sample(batch, len(batch))  # duplicates and reordering
    random.shuffle(shuffled)

    first = device.post(EVENTS, {"events": shuffled}, format="json")
    assert first.status_code == 200, first.json()
    statuses = [r["status"] for r in first.json()["results"]]
    assert sorted(statuses) == ["applied"] * 3 + ["duplicate"] * 3
    again = device.post(EVENTS, {"events": batch}, format="json").json()
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3

    assert GateEvent.objects.count() == 3
    reservation.refresh_from_db()
    second.refresh_from_db()
    assert (reservation.status, reservation.checked_in_at, reservation.checked_out_at) == (
        BookingStatus.COMPLETED,
        t0,
        t0 + timedelta(hours=2),
    )
    assert (second.status, second.checked_in_at) == (BookingStatus.CHECKED_IN, t0 + timedelta(minutes=5))
    entries = GateEvent.objects.filter(kind="entry", decision="open").count()
    exits = GateEvent.objects.filter(kind="exit", decision="open").count()
    assert entries - exits == Booking.objects.filter(status=BookingStatus.CHECKED_IN).count() == 1


def test_offline_entry_for_a_cancelled_booking_is_flagged_not_dropped(device, reservation, driver):
    booking_services.booking_cancel(booking_id=reservation.pk, actor=driver)
    result = device.post(EVENTS, {"events": [_event("late", "entry", reservation.start, reservation)]}, format="json")
    assert result.json()["results"] == [
        {"event_id": "late", "status": "flagged", "decision": "open", "reason_code": "offline_booking_cancelled"}
    ]
    event = GateEvent.objects.get()
    assert (event.offline, event.flagged, event.booking_id) == (True, True, reservation.pk)
    assert ManualReview.objects.get().event == event


def test_offline_denials_change_nothing_and_live_calls_interleave(device, reservation):
    denied = _event("d1", "entry", reservation.start, reservation, decision="deny") | {"reason_code": "too_early"}
    assert device.post(EVENTS, {"events": [denied]}, format="json").json()["results"][0]["status"] == "applied"
    reservation.refresh_from_db()
    assert reservation.status == BookingStatus.CONFIRMED

    live = device.post(
        "/api/v1/gates/check-in/",
        {"event_id": "l1", "occurred_at": reservation.start.isoformat(), "booking_reference": reservation.reference},
        format="json",
    )
    assert live.json()["reason_code"] == "ok"
    uploaded = device.post(EVENTS, {"events": [_event("l1", "entry", reservation.start, reservation)]}, format="json")
    assert uploaded.json()["results"][0]["status"] == "duplicate"
    assert GateEvent.objects.filter(event_id="l1").count() == 1


def test_parked_cars_stay_in_the_snapshot_past_their_end(gate, reservation):
    from gates.snapshot import snapshot_build

    booking_services.booking_check_in(booking_id=reservation.pk, actor=None, at=reservation.start)
    later = reservation.end + timedelta(hours=3)  # overstaying
    data = snapshot_build(gate=gate, now=later)["data"]
    assert [(row["reference"], row["status"]) for row in data["bookings"]] == [(reservation.reference, "checked_in")]


def test_incremental_snapshot_brings_bookings_that_entered_the_window_as_time_passed(gate, driver, car, facility, zone):
    from gates.snapshot import snapshot_build

    now = timezone.now()
    far = (now + timedelta(hours=30)).replace(microsecond=0)
    booking = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver,
            vehicle=car,
            facility=facility,
            spot=make_spot(zone, "A-9"),
            start=far,
            end=far + timedelta(hours=2),
        )
    )
    first = snapshot_build(gate=gate, now=now)["data"]
    assert first["bookings"] == []
    later = now + timedelta(hours=10)
    delta = snapshot_build(gate=gate, since=first["version"], now=later)["data"]
    assert [row["reference"] for row in delta["bookings"]] == [booking.reference]


def test_an_upload_contradicting_the_live_decision_is_flagged(device, reservation):
    live = device.post(
        "/api/v1/gates/check-in/",
        {"event_id": "c1", "occurred_at": reservation.start.isoformat(), "booking_reference": "PKM-NONE2345"},
        format="json",
    ).json()
    assert live["decision"] == "deny"
    # The gate had timed out and opened offline for the same event id.
    upload = {
        "event_id": "c1",
        "kind": "entry",
        "occurred_at": reservation.start.isoformat(),
        "booking_reference": "PKM-NONE2345",
        "decision": "open",
    }
    result = device.post(EVENTS, {"events": [upload]}, format="json").json()["results"][0]
    assert result["status"] == "duplicate"
    event = GateEvent.objects.get(event_id="c1")
    assert event.flagged is True
    assert ManualReview.objects.get(event=event).reason == "offline_conflict"
