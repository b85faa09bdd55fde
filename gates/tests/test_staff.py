"""Staff side of gates: offline detection with one email per outage, the event log (filters, plate,
tenancy) and the manual-review queue."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from bookings.models import BookingStatus
from gates import monitoring
from gates.models import GateAlert, GateCommand, GateStatus

pytestmark = pytest.mark.django_db


def test_offline_detection_alerts_once_and_the_next_poll_closes_it(device, gate, owner_a, staff_a):
    device.get("/api/v1/gates/poll/")
    gate.refresh_from_db()
    seen = gate.last_seen_at
    assert monitoring.gates_mark_offline(now=seen + timedelta(minutes=1)) == 0
    assert monitoring.gates_mark_offline(now=seen + timedelta(minutes=3)) == 1
    assert monitoring.gates_mark_offline(now=seen + timedelta(minutes=10)) == 0
    gate.refresh_from_db()
    assert gate.status == GateStatus.OFFLINE
    alert = GateAlert.objects.get()
    assert (alert.started_at, alert.ended_at) == (seen, None)
    [email] = mail.outbox
    assert email.subject == "Gate offline: Main entry at Garage"
    assert sorted(email.to) == sorted([owner_a.email, staff_a.email])

    device.get("/api/v1/gates/poll/")
    gate.refresh_from_db()
    alert.refresh_from_db()
    assert gate.status == GateStatus.ONLINE
    assert alert.ended_at is not None
    assert PeriodicTask.objects.get(name="gates: mark offline").task == "gates.mark_offline"


def test_event_log_filters_and_tenancy(device, auth_client, staff_a, owner_b, reservation, car):
    at = reservation.start
    device.post(
        "/api/v1/gates/check-in/",
        {"event_id": "a", "occurred_at": at.isoformat(), "license_plate": car.plate, "confidence": "0.99"},
        format="json",
    )
    device.post(
        "/api/v1/gates/check-in/",
        {"event_id": "b", "occurred_at": at.isoformat(), "booking_reference": "PKM-NONE2345"},
        format="json",
    )
    client = auth_client(staff_a)
    everything = client.get("/api/v1/gates/event-log/").json()
    assert everything["count"] == 2
    assert [
        row["event_id"] for row in client.get("/api/v1/gates/event-log/", {"decision": "deny"}).json()["results"]
    ] == ["b"]
    spelled = f"{car.plate[:3].lower()}-{car.plate[3:]}"
    by_plate = client.get("/api/v1/gates/event-log/", {"plate": spelled}).json()["results"]
    assert [row["event_id"] for row in by_plate] == ["a"]
    assert by_plate[0]["booking"]["reference"] == reservation.reference
    assert car.plate not in str(everything)
    assert auth_client(owner_b).get("/api/v1/gates/event-log/").json()["count"] == 0


def test_manual_review_approve_opens_and_checks_in(device, auth_client, staff_a, owner_b, reservation, car):
    device.post(
        "/api/v1/gates/check-in/",
        {
            "event_id": "low",
            "occurred_at": reservation.start.isoformat(),
            "license_plate": car.plate,
            "confidence": "0.4",
        },
        format="json",
    )
    client = auth_client(staff_a)
    [item] = client.get("/api/v1/gates/reviews/", {"status": "pending"}).json()["results"]
    assert auth_client(owner_b).post(f"/api/v1/gates/reviews/{item['id']}/approve/").status_code == 404

    approved = client.post(f"/api/v1/gates/reviews/{item['id']}/approve/", {"note": "plate checked on camera"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    reservation.refresh_from_db()
    assert (reservation.status, reservation.checked_in_at) == (BookingStatus.CHECKED_IN, reservation.start)
    assert GateCommand.objects.get().kind == "open"
    again = client.post(f"/api/v1/gates/reviews/{item['id']}/reject/")
    assert (again.status_code, again.json()["errors"][0]["code"]) == (409, "invalid_transition")


def test_rejecting_leaves_everything_closed(device, auth_client, staff_a, reservation, car):
    device.post(
        "/api/v1/gates/check-in/",
        {"event_id": "low", "occurred_at": timezone.now().isoformat(), "license_plate": car.plate, "confidence": "0.1"},
        format="json",
    )
    client = auth_client(staff_a)
    [item] = client.get("/api/v1/gates/reviews/").json()["results"]
    assert client.post(f"/api/v1/gates/reviews/{item['id']}/reject/").json()["status"] == "rejected"
    assert GateCommand.objects.count() == 0
    reservation.refresh_from_db()
    assert reservation.status == BookingStatus.CONFIRMED


def test_status_board_shows_outages(device, gate, auth_client, staff_a):
    device.get("/api/v1/gates/poll/")
    gate.refresh_from_db()
    monitoring.gates_mark_offline(now=gate.last_seen_at + timedelta(minutes=5))
    [row] = auth_client(staff_a).get("/api/v1/gates/").json()["results"]
    assert (row["status"], row["offline_since"] is not None) == ("offline", True)
    device.get("/api/v1/gates/poll/")
    [row] = auth_client(staff_a).get("/api/v1/gates/").json()["results"]
    assert (row["status"], row["offline_since"]) == ("online", None)
