"""Gate decisions through the device API: auth matrix, every entry/exit path and reason code,
idempotency by event id, anti-passback, plate confidence, drive-in, fees at exit, commands."""

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry
from bookings import services as booking_services
from bookings.credentials import credential_issue
from bookings.models import Booking, BookingKind, BookingStatus
from gates import services
from gates.models import GateCommand, GateEvent, ManualReview
from parking.tests.factories import make_facility, make_spot, make_zone
from payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.django_db

CHECK_IN = "/api/v1/gates/check-in/"
CHECK_OUT = "/api/v1/gates/check-out/"


def _qr(booking):
    booking = Booking.objects.select_related("facility", "spot").get(pk=booking.pk)
    return credential_issue(booking).payload


def _in(device, event_id, at, **credential):
    response = device.post(CHECK_IN, {"event_id": event_id, "occurred_at": at.isoformat(), **credential}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _out(device, event_id, at, **credential):
    response = device.post(
        CHECK_OUT, {"event_id": event_id, "occurred_at": at.isoformat(), **credential}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


# ---------------------------------------------------------------------------- auth matrix
def test_device_auth_matrix(device, gate, gate_and_key, auth_client, driver, owner_a, reservation):
    body = {"event_id": "e1", "occurred_at": reservation.start.isoformat(), "booking_reference": reservation.reference}
    assert auth_client(driver).post(CHECK_IN, body, format="json").status_code == 401  # user JWT on a device endpoint
    assert APIClient().post(CHECK_IN, body, format="json").status_code == 401
    assert device.get("/api/v1/bookings/").status_code == 401  # device key on a user endpoint
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Gate {gate_and_key[1][:-2]}xx")
    assert forged.post(CHECK_IN, body, format="json").status_code == 401

    new_key = services.gate_key_rotate(gate=gate, actor=owner_a)
    assert device.post(CHECK_IN, body, format="json").status_code == 401  # the old key stops at once
    rotated = APIClient()
    rotated.credentials(HTTP_AUTHORIZATION=f"Gate {new_key}")
    assert rotated.get("/api/v1/gates/poll/").status_code == 200
    services.gate_key_revoke(gate=gate, actor=owner_a)
    assert rotated.get("/api/v1/gates/poll/").status_code == 401
    assert GateEvent.objects.count() == 0
    assert AuditLogEntry.objects.filter(action="gate_key_rotated").count() == 2


def test_a_booking_of_another_facility_is_denied(device, reservation, org_a, driver, car):
    other = make_facility(org_a, name="Annex", requires_prepayment=False)
    from pricing import services as pricing_services

    pricing_services.rule_create(
        facility=other, data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}}
    )
    elsewhere = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver,
            vehicle=car,
            facility=other,
            spot=make_spot(make_zone(other), "X-1"),
            start=reservation.start + timedelta(days=1),
            end=reservation.end + timedelta(days=1),
        )
    )
    at = elsewhere.start
    assert _in(device, "q", at, qr_code=_qr(elsewhere))["reason_code"] == "wrong_facility"
    assert _in(device, "r", at, booking_reference=elsewhere.reference)["reason_code"] == "wrong_facility"
    elsewhere.refresh_from_db()
    assert elsewhere.status == BookingStatus.CONFIRMED


# ---------------------------------------------------------------------------- entry
def test_qr_entry_checks_in_with_the_device_time_once(device, reservation):
    at = reservation.start - timedelta(minutes=5)
    decision = _in(device, "evt-1", at, qr_code=_qr(reservation))
    assert (decision["decision"], decision["reason_code"], decision["message"]) == ("open", "ok", "Welcome")
    assert decision["booking"] == {"reference": reservation.reference, "spot": "A-1", "zone": reservation.zone.name}
    reservation.refresh_from_db()
    assert (reservation.status, reservation.checked_in_at) == (BookingStatus.CHECKED_IN, at)

    assert _in(device, "evt-1", at + timedelta(minutes=3), qr_code=_qr(reservation))["reason_code"] == "ok"  # replay
    assert GateEvent.objects.count() == 1
    again = _in(device, "evt-2", at + timedelta(minutes=3), qr_code=_qr(reservation))
    assert (again["decision"], again["reason_code"]) == ("deny", "already_inside")


def test_anti_passback_off_allows_re_entry(device, gate, reservation):
    gate.anti_passback = False
    gate.save(update_fields=["anti_passback"])
    _in(device, "a", reservation.start, booking_reference=reservation.reference)
    assert (
        _in(device, "b", reservation.start + timedelta(hours=1), booking_reference=reservation.reference)["reason_code"]
        == "re_entry"
    )


@pytest.mark.parametrize(
    ("shift", "reason"),
    [(-timedelta(hours=3), "too_early"), (timedelta(hours=4), "outside_window")],
)
def test_outside_the_entry_window(device, reservation, shift, reason):
    decision = _in(device, "w", reservation.start + shift, booking_reference=reservation.reference)
    assert (decision["decision"], decision["reason_code"]) == ("deny", reason)
    reservation.refresh_from_db()
    assert reservation.status == BookingStatus.CONFIRMED


def test_cancelled_unknown_and_tampered(device, reservation, driver):
    qr = _qr(reservation)
    tampered = qr[:-4] + ("AAAA" if not qr.endswith("AAAA") else "BBBB")
    assert _in(device, "t", reservation.start, qr_code=tampered)["reason_code"] == "invalid_credential"
    assert _in(device, "u", reservation.start, booking_reference="PKM-NOPE2345")["reason_code"] == "unknown_credential"
    booking_services.booking_cancel(booking_id=reservation.pk, actor=driver)
    assert _in(device, "c", reservation.start, qr_code=qr)["reason_code"] == "booking_cancelled"


def test_unpaid_booking_is_payment_required(device, reservation):
    Booking.objects.filter(pk=reservation.pk).update(status=BookingStatus.PENDING_PAYMENT)
    assert (
        _in(device, "p", reservation.start, booking_reference=reservation.reference)["reason_code"]
        == "payment_required"
    )


def test_plate_confidence_threshold(device, reservation, car):
    low = _in(device, "l", reservation.start, license_plate=car.plate, confidence="0.5")
    assert (low["decision"], low["reason_code"]) == ("deny", "manual_review")
    review = ManualReview.objects.get()
    assert (review.reason, review.event.flagged) == ("manual_review", True)
    reservation.refresh_from_db()
    assert reservation.status == BookingStatus.CONFIRMED

    spaced = f"{car.plate[:3].lower()} {car.plate[3:]}"
    good = _in(device, "g", reservation.start, license_plate=spaced, confidence="0.97")
    assert (good["decision"], good["booking"]["reference"]) == ("open", reservation.reference)
    assert GateEvent.objects.get(event_id="g").plate_index == reservation.plate_index


def test_unknown_plate_drive_in_and_full(device, gate, spot, facility):
    gate.allow_drive_in = True
    gate.save(update_fields=["allow_drive_in"])
    from django.utils import timezone

    now = timezone.now()
    assert _in(device, "n", now, license_plate="NOBOOK1", confidence="0.99")["reason_code"] == "drive_in_started"
    session = Booking.objects.get(kind=BookingKind.DRIVE_IN)
    assert session.checked_in_at == now
    full = _in(device, "f", now, license_plate="NOBOOK2", confidence="0.99")  # the only spot is taken
    assert (full["decision"], full["reason_code"]) == ("deny", "facility_full")
    gate.allow_drive_in = False
    gate.save(update_fields=["allow_drive_in"])
    assert _in(device, "x", now, license_plate="NOBOOK3", confidence="0.99")["reason_code"] == "no_booking"


def test_bad_input_is_400_on_the_field(device):
    both = device.post(
        CHECK_IN,
        {"event_id": "b", "occurred_at": "2030-01-01T00:00:00Z", "ticket": "X", "booking_reference": "Y"},
        format="json",
    )
    assert both.status_code == 400
    missing = device.post(CHECK_IN, {"occurred_at": "2030-01-01T00:00:00Z", "ticket": "X"}, format="json")
    assert (missing.status_code, missing.json()["errors"][0]["attr"]) == (400, "event_id")
    assert GateEvent.objects.count() == 0


# ---------------------------------------------------------------------------- exit
def test_exit_completes_the_stay_with_the_device_time(device, reservation):
    _in(device, "in", reservation.start, booking_reference=reservation.reference)
    leave = reservation.end - timedelta(minutes=10)
    decision = _out(device, "out", leave, booking_reference=reservation.reference)
    assert (decision["decision"], decision["reason_code"]) == ("open", "ok")
    reservation.refresh_from_db()
    assert (reservation.status, reservation.checked_out_at) == (BookingStatus.COMPLETED, leave)
    assert _out(device, "out-2", leave, booking_reference=reservation.reference)["reason_code"] == "already_checked_out"


def test_exit_without_entry_is_not_inside(device, reservation):
    assert _out(device, "o", reservation.start, booking_reference=reservation.reference)["reason_code"] == "not_inside"


def test_overstay_without_saved_card_is_payment_required(device, reservation, monkeypatch):
    from payments import services as payment_services

    monkeypatch.setattr(payment_services, "_kick_off_session", lambda payment_id: None)
    _in(device, "in", reservation.start, qr_code=_qr(reservation))
    decision = _out(device, "out", reservation.end + timedelta(hours=2), qr_code=_qr(reservation))
    assert (decision["decision"], decision["reason_code"]) == ("deny", "payment_required")
    fee = Payment.objects.get(booking=reservation, status=PaymentStatus.CREATED)
    assert (decision["amount_due"], decision["payment"]) == (fee.amount, str(fee.pk))
    assert fee.amount == 2000


def test_drive_in_exit_charges_the_session(device, gate, facility, spot, monkeypatch):
    from django.utils import timezone

    from payments import services as payment_services

    monkeypatch.setattr(payment_services, "_kick_off_session", lambda payment_id: None)
    gate.allow_drive_in = True
    gate.save(update_fields=["allow_drive_in"])
    now = timezone.now()
    _in(device, "in", now, license_plate="WALKUP1", confidence=str(Decimal("0.99")))
    session = Booking.objects.get(kind=BookingKind.DRIVE_IN)
    decision = _out(device, "out", now + timedelta(minutes=90), ticket=session.reference)
    session.refresh_from_db()
    assert session.status == BookingStatus.COMPLETED
    assert (decision["reason_code"], decision["amount_due"]) == ("payment_required", session.total)
    assert session.total > 0


# ---------------------------------------------------------------------------- poll and commands
def test_commands_are_delivered_exactly_once_and_acknowledged(device, gate, owner_a, staff_a):
    with pytest.raises(Exception, match="reason"):
        services.gate_command_issue(gate=gate, kind="open", actor=staff_a)
    command = services.gate_command_issue(gate=gate, kind="open", actor=staff_a, reason="driver stuck")
    first = device.get("/api/v1/gates/poll/", {"software_version": "agent 1.0"}).json()
    assert [c["id"] for c in first["commands"]] == [command.pk]
    assert first["config"]["name"] == "Main entry"
    assert device.get("/api/v1/gates/poll/").json()["commands"] == []
    gate.refresh_from_db()
    assert (gate.status, gate.software_version) == ("online", "agent 1.0")
    assert device.post(f"/api/v1/gates/commands/{command.pk}/ack/").status_code == 200
    command.refresh_from_db()
    assert command.acked_at is not None
    assert AuditLogEntry.objects.filter(action="gate_remote_open").count() == 1
    assert GateCommand.objects.count() == 1


def test_staff_register_gates_in_their_organization_only(auth_client, owner_a, owner_b, staff_a, facility):
    created = auth_client(owner_a).post(
        "/api/v1/gates/", {"facility": facility.pk, "name": "Exit 2", "direction": "exit"}
    )
    assert created.status_code == 201, created.json()
    key = created.json()["key"]
    assert key.startswith("gk_")
    assert auth_client(owner_b).post("/api/v1/gates/", {"facility": facility.pk, "name": "X"}).status_code == 404
    assert auth_client(staff_a).post("/api/v1/gates/", {"facility": facility.pk, "name": "Y"}).status_code == 403
    assert auth_client(owner_b).get("/api/v1/gates/").json()["count"] == 0
    gate_id = created.json()["gate"]["id"]
    assert auth_client(owner_b).post(f"/api/v1/gates/{gate_id}/commands/", {"kind": "sync"}).status_code == 404
    exit_gate = APIClient()
    exit_gate.credentials(HTTP_AUTHORIZATION=f"Gate {key}")
    wrong_way = exit_gate.post(
        CHECK_IN, {"event_id": "w", "occurred_at": "2030-01-01T00:00:00Z", "ticket": "PKM-AAAA2222"}, format="json"
    )
    assert wrong_way.json()["reason_code"] == "wrong_direction"


def test_decisions_are_exported_as_metrics(device, reservation):
    _in(device, "m1", reservation.start, booking_reference=reservation.reference)
    _in(device, "m2", reservation.start, booking_reference="PKM-NONE2345")
    text = APIClient().get("/metrics").content.decode()
    assert 'gate_decision_seconds_count{kind="entry"}' in text
    assert 'gate_decisions_total{decision="open",kind="entry",reason="ok"}' in text
    assert 'gate_decisions_total{decision="deny",kind="entry",reason="unknown_credential"}' in text


def test_plate_exit_after_paying_at_the_booth_opens(device, reservation, car, monkeypatch):
    from payments import services as payment_services

    monkeypatch.setattr(payment_services, "_kick_off_session", lambda payment_id: None)
    plate = {"license_plate": car.plate, "confidence": "0.99"}
    _in(device, "in", reservation.start, **plate)
    denied = _out(device, "out", reservation.end + timedelta(hours=2), **plate)
    assert denied["reason_code"] == "payment_required"
    fee = Payment.objects.get(pk=denied["payment"])
    Payment.objects.filter(pk=fee.pk).update(status=PaymentStatus.SUCCEEDED, provider="cash")  # paid at the booth
    again = _out(device, "out-2", reservation.end + timedelta(hours=2, minutes=5), **plate)
    assert (again["decision"], again["reason_code"]) == ("open", "already_checked_out")


def test_unacknowledged_commands_are_delivered_again_after_30_seconds(device, gate, staff_a):
    import time_machine
    from django.utils import timezone

    command = services.gate_command_issue(gate=gate, kind="sync", actor=staff_a)
    assert [c["id"] for c in device.get("/api/v1/gates/poll/").json()["commands"]] == [command.pk]
    assert device.get("/api/v1/gates/poll/").json()["commands"] == []
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert [c["id"] for c in device.get("/api/v1/gates/poll/").json()["commands"]] == [command.pk]
        device.post(f"/api/v1/gates/commands/{command.pk}/ack/")
    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        assert device.get("/api/v1/gates/poll/").json()["commands"] == []


def test_more_reason_codes(device, gate, reservation, driver, car, facility):
    from pricing import services as pricing_services

    gate.accepted_credentials = ["qr"]
    gate.save(update_fields=["accepted_credentials"])
    assert _in(device, "n1", reservation.start, booking_reference=reservation.reference)["reason_code"] == (
        "credential_not_accepted"
    )
    gate.accepted_credentials = ["qr", "plate", "reference", "ticket"]
    gate.save(update_fields=["accepted_credentials"])
    # (no_show: see test_no_show_released_booking_reinstated_only_when_a_spot_is_free)
    for status, reason in (("expired", "booking_expired"), ("completed", "booking_completed")):
        Booking.objects.filter(pk=reservation.pk).update(status=status)
        assert (
            _in(device, f"s-{status}", reservation.start, booking_reference=reservation.reference)["reason_code"]
            == reason
        )

    product = pricing_services.pass_product_create(
        facility=facility, data={"name": "Monthly", "period": "monthly", "price": 9000}
    )
    from django.utils import timezone

    from pricing.models import Pass

    Pass.objects.create(
        product=product,
        driver=driver,
        vehicle=car,
        status="active",
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() + timedelta(days=29),
    )
    decision = _in(device, "pass", timezone.now(), license_plate=car.plate, confidence="0.99")
    assert (decision["decision"], decision["reason_code"]) == ("open", "pass_valid")


def test_exit_fee_with_a_saved_card_opens(device, reservation, driver, monkeypatch):
    from payments import services as payment_services

    monkeypatch.setattr(payment_services, "_kick_off_session", lambda payment_id: None)
    Payment.objects.create(
        organization_id=reservation.organization_id,
        driver=driver,
        amount=100,
        owner_amount=100,
        platform_amount=0,
        currency="USD",
        provider="stripe",
        provider_payment_id="pi_earlier",
        status=PaymentStatus.SUCCEEDED,
    )
    _in(device, "in", reservation.start, booking_reference=reservation.reference)
    decision = _out(device, "out", reservation.end + timedelta(hours=2), booking_reference=reservation.reference)
    assert (decision["decision"], decision["reason_code"], decision["amount_due"]) == (
        "open",
        "fee_charged_to_saved_card",
        2000,
    )


def test_no_show_released_booking_reinstated_only_when_a_spot_is_free(device, reservation, facility, zone):
    from accounts.tests.factories import UserFactory
    from vehicles.tests.factories import VehicleFactory

    late = reservation.start + timedelta(minutes=facility.reservation_grace_minutes, seconds=1)
    booking_services.booking_mark_no_show(booking_id=reservation.pk, at=late)
    assert Booking.objects.get(pk=reservation.pk).status == "no_show"
    other = UserFactory(email="taker@example.com")
    booking_services.booking_create(
        booking_services.BookingRequest(
            driver=other,
            vehicle=VehicleFactory(owner=other, vehicle_type="standard"),
            facility=facility,
            spot=reservation.spot,
            start=reservation.start + timedelta(minutes=20),
            end=reservation.end,
        )
    )
    arrival = reservation.start + timedelta(hours=1)

    denied = _in(device, "late-1", arrival, booking_reference=reservation.reference)
    assert (denied["decision"], denied["reason_code"]) == ("deny", "no_show")

    spare = make_spot(zone, "A-9")
    opened = _in(device, "late-2", arrival, booking_reference=reservation.reference)
    assert (opened["decision"], opened["reason_code"]) == ("open", "ok")
    booking = Booking.objects.get(pk=reservation.pk)
    assert (booking.status, booking.spot_id, booking.checked_in_at) == ("checked_in", spare.pk, arrival)


def test_a_key_records_its_last_use_at_most_once_a_minute(device, gate, reservation):
    from django.utils import timezone

    from gates.models import GateKey

    key = GateKey.objects.get(gate=gate)
    recent = timezone.now() - timedelta(seconds=10)
    GateKey.objects.filter(pk=key.pk).update(last_used_at=recent)
    device.get("/api/v1/gates/poll/")
    assert GateKey.objects.get(pk=key.pk).last_used_at == recent  # no write within the minute
    stale = timezone.now() - timedelta(minutes=2)
    GateKey.objects.filter(pk=key.pk).update(last_used_at=stale)
    device.get("/api/v1/gates/poll/")
    assert GateKey.objects.get(pk=key.pk).last_used_at > stale
