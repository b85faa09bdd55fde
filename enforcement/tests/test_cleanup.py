"""The daily retention cleanup removes exactly what it should, and a second run changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking
from enforcement import violations
from enforcement.cleanup import cleanup
from enforcement.models import JobRun, Violation
from gates import services as gate_services
from gates.models import GateEvent, ManualReview
from parking.tests.factories import make_spot
from payments.models import WebhookEvent
from vehicles.plates import normalize_plate, plate_blind_index

from .conftest import book

pytestmark = pytest.mark.django_db


def _gate_event(gate, event_id, occurred_at):
    return GateEvent.objects.create(
        gate=gate,
        organization_id=gate.facility.organization_id,
        facility=gate.facility,
        event_id=event_id,
        kind="entry",
        occurred_at=occurred_at,
        credential_type="plate",
        decision="deny",
        reason_code="unknown_plate",
        message="Not found",
    )


def test_cleanup_removes_exactly_what_the_retention_periods_say(
    settings, facility, zone, spot, driver, car, window, owner_a, staff_a, policy
):
    settings.PLATE_RETENTION_DAYS = 90
    settings.GATE_EVENT_RETENTION_DAYS = 180
    settings.WEBHOOK_PAYLOAD_RETENTION_DAYS = 90
    now = timezone.now()
    long_ago = now - timedelta(days=200)

    # bookings: two ended long ago (one plate still needed by an open violation), one recent
    start, end = window
    old_plain = book(driver, car, facility, spot, start, end)
    old_needed = book(driver, car, facility, make_spot(zone, "A-7"), start, end)
    recent = book(driver, car, facility, make_spot(zone, "A-8"), start, end)
    Booking.objects.filter(pk__in=[old_plain.pk, old_needed.pk]).update(
        status="completed", start=long_ago, end=long_ago + timedelta(hours=2)
    )
    Booking.objects.filter(pk=old_needed.pk).update(
        plate="KEEP1", plate_index=plate_blind_index(normalize_plate("KEEP1"))
    )
    violations.violation_issue(actor=staff_a, facility=facility, kind="unauthorized", plate="KEEP1")

    # webhook events: old processed (payload emptied), old pending (kept), recent processed (kept)
    old_done = WebhookEvent.objects.create(
        provider="stripe", event_id="evt_old", type="x", payload={"a": 1}, outcome="processed"
    )
    old_pending = WebhookEvent.objects.create(provider="stripe", event_id="evt_pend", type="x", payload={"a": 2})
    fresh = WebhookEvent.objects.create(
        provider="stripe", event_id="evt_new", type="x", payload={"a": 3}, outcome="processed"
    )
    WebhookEvent.objects.filter(pk__in=[old_done.pk, old_pending.pk]).update(received_at=long_ago)

    # gate events: old (deleted), old with a pending review (kept), recent (kept)
    gate, _ = gate_services.gate_create(facility=facility, data={"name": "North"}, actor=owner_a)
    old_event = _gate_event(gate, "e-old", long_ago)
    under_review = _gate_event(gate, "e-review", long_ago)
    ManualReview.objects.create(event=under_review, reason="low_confidence")
    new_event = _gate_event(gate, "e-new", now)

    JobRun.objects.create(job="x", started_at=now - timedelta(days=40), succeeded=True)
    JobRun.objects.create(job="x", started_at=now - timedelta(days=1), succeeded=True)

    first = cleanup()

    assert first["booking_plates"] == 2
    assert first["webhook_payloads"] == 1
    assert first["gate_events"] == 1
    assert first["job_runs"] == 1
    plain, needed, kept = (Booking.objects.get(pk=b.pk) for b in (old_plain, old_needed, recent))
    assert (plain.plate, plain.plate_index) == (None, "")
    assert needed.plate is None
    assert needed.plate_index == plate_blind_index("KEEP1")  # an open violation still needs it
    assert (kept.plate, kept.plate_index) == (car.plate, car.plate_index)
    assert WebhookEvent.objects.get(pk=old_done.pk).payload == {}
    assert WebhookEvent.objects.get(pk=old_done.pk).event_id == "evt_old"  # still recognised as a duplicate
    assert [WebhookEvent.objects.get(pk=e.pk).payload for e in (old_pending, fresh)] == [{"a": 2}, {"a": 3}]
    assert set(GateEvent.objects.values_list("pk", flat=True)) == {under_review.pk, new_event.pk}
    assert not GateEvent.objects.filter(pk=old_event.pk).exists()
    assert Violation.objects.get().plate == "KEEP1"

    second = cleanup()
    assert {name: count for name, count in second.items() if count} == {}
