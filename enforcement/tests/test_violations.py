"""Violations: issue (by plate / from a check), fines through payments, waive, escalate, reopen,
the read-only rule, evidence, driver list and pay, tenant scoping."""

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import ProgrammingError, transaction
from django.utils import timezone
from PIL import Image

from accounts.models import AuditAction, AuditLogEntry
from accounts.tests.factories import UserFactory
from enforcement import violations
from enforcement.models import EnforcementCheck, Violation, ViolationEvidence, ViolationNotice, ViolationStatus
from payments.models import Payment, PaymentPurpose, PaymentStatus, Refund, RefundReason
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

STAFF = "/api/v1/enforcement/violations/"
DRIVER = "/api/v1/violations/"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


def _issue(client, facility, capture, **body):
    with capture(execute=True):
        response = client.post(STAFF, {"facility": facility.pk, "kind": "unauthorized", **body})
    return response


def test_issue_by_plate_for_a_known_driver_requests_the_fine_and_emails_them(
    auth_client, staff_a, facility, policy, driver, car, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    response = _issue(
        auth_client(staff_a),
        facility,
        django_capture_on_commit_callbacks,
        license_plate=car.plate.lower(),
        notes="In bay 3",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["fine_amount"], body["currency"]) == (
        "unauthorized",
        "notified",
        5000,
        "USD",
    )
    assert body["number"] == f"V-{body['id']}"
    assert [e["kind"] for e in body["evidence"]] == ["note"]
    violation = Violation.objects.get()
    assert (violation.driver, violation.vehicle, violation.issued_by) == (driver, car, staff_a)
    assert violation.plate == car.plate
    assert violation.plate_index == car.plate_index
    assert violation.due_date == violation.issued_at.astimezone(ZoneInfo(facility.timezone)).date() + timedelta(days=14)
    fine = Payment.objects.get(purpose=PaymentPurpose.VIOLATION)
    assert (violation.payment, fine.driver, fine.amount, fine.owner_amount, fine.status, fine.provider) == (
        fine,
        driver,
        5000,
        5000,
        PaymentStatus.CREATED,
        "",
    )
    [email] = mail.outbox
    assert email.to == [driver.email]
    assert f"V-{violation.pk}" in email.subject
    assert "$50.00" in email.body
    assert car.plate not in email.body  # never the plate
    assert list(violation.events.values_list("from_status", "to_status")) == [("", "issued"), ("issued", "notified")]


def test_issue_without_a_configured_fine_is_a_400_and_writes_nothing(auth_client, staff_a, facility, policy, car):
    response = auth_client(staff_a).post(
        STAFF, {"facility": facility.pk, "kind": "wrong_spot", "license_plate": car.plate}
    )
    assert response.status_code == 400
    assert (response.json()["errors"][0]["code"], response.json()["errors"][0]["attr"]) == (
        "fine_not_configured",
        "fine_amount",
    )
    missing = auth_client(staff_a).post(STAFF, {"facility": facility.pk, "kind": "other"})
    assert (missing.status_code, missing.json()["errors"][0]["attr"]) == (400, "license_plate")
    assert (Violation.objects.count(), Payment.objects.count()) == (0, 0)


def test_issue_from_a_check_with_an_explicit_fine_for_an_unknown_plate(
    auth_client, staff_a, facility, policy, django_capture_on_commit_callbacks
):
    client = auth_client(staff_a)
    check = client.post("/api/v1/enforcement/check/", {"facility": facility.pk, "license_plate": "ZZ 999"}).json()
    assert check["outcome"] == "nothing"

    response = _issue(client, facility, django_capture_on_commit_callbacks, check=check["check_id"], fine_amount=1234)

    assert response.status_code == 201, response.json()
    violation = Violation.objects.get()
    assert (violation.status, violation.fine_amount, violation.driver, violation.payment) == (
        "issued",
        1234,
        None,
        None,
    )
    assert violation.check_record_id == check["check_id"]
    assert violation.plate is None
    assert violation.plate_index == EnforcementCheck.objects.get().plate_index


def test_issue_refuses_foreign_checks_bookings_spots_and_facilities(
    auth_client, staff_a, owner_b, facility, policy, org_b
):
    from parking.tests.factories import make_facility, make_spot, make_zone

    other = make_facility(org_b, name="B Garage")
    other_spot = make_spot(make_zone(other), "B-1")
    client = auth_client(staff_a)
    foreign_check = auth_client(owner_b).post(
        "/api/v1/enforcement/check/", {"facility": other.pk, "license_plate": "X1"}
    )
    base = {"facility": facility.pk, "kind": "unauthorized", "license_plate": "AB12CD"}

    assert client.post(STAFF, {**base, "facility": other.pk}).status_code == 404
    for field, value in (("check", foreign_check.json()["check_id"]), ("spot", other_spot.pk), ("booking", "NOPE123")):
        response = client.post(STAFF, {**base, field: value})
        assert (response.status_code, response.json()["errors"][0]["attr"]) == (400, field)
    assert Violation.objects.count() == 0


def test_unknown_driver_finds_the_violation_by_plate_pays_it_and_it_becomes_paid(
    auth_client, staff_a, facility, policy, django_capture_on_commit_callbacks
):
    _issue(auth_client(staff_a), facility, django_capture_on_commit_callbacks, license_plate="NEW 1")
    violation = Violation.objects.get()
    assert violation.status == "issued"
    late = UserFactory(email="late@example.com")
    VehicleFactory(owner=late, plate="NEW1")
    stranger = UserFactory(email="other@example.com")
    client = auth_client(late)

    listed = client.get(DRIVER).json()
    assert [row["id"] for row in listed["results"]] == [violation.pk]
    assert auth_client(stranger).get(DRIVER).json()["results"] == []
    assert auth_client(stranger).get(f"{DRIVER}{violation.pk}/").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(f"{DRIVER}{violation.pk}/pay/", {"provider": "sandbox"})
    assert paid.status_code == 201, paid.json()
    payment = Payment.objects.get(pk=paid.json()["payment"]["id"])
    assert (payment.purpose, payment.amount, payment.driver) == ("violation", 5000, late)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/api/v1/payments/{payment.pk}/sandbox-confirm/")
    assert confirmed.status_code == 200, confirmed.json()
    violation.refresh_from_db()
    assert (violation.status, violation.driver, violation.payment_id) == ("paid", late, payment.pk)
    assert violation.resolved_at is not None
    again = client.post(f"{DRIVER}{violation.pk}/pay/", {"provider": "sandbox"})
    assert (again.status_code, again.json()["errors"][0]["code"]) == (409, "invalid_transition")
    assert Payment.objects.filter(purpose=PaymentPurpose.VIOLATION).count() == 1


def test_waive_cancels_the_open_request_is_audited_emailed_and_makes_the_violation_read_only(
    auth_client, staff_a, facility, policy, driver, car, django_capture_on_commit_callbacks
):
    client = auth_client(staff_a)
    violation_id = _issue(client, facility, django_capture_on_commit_callbacks, license_plate=car.plate).json()["id"]
    mail.outbox.clear()

    missing_reason = client.post(f"{STAFF}{violation_id}/waive/", {})
    assert (missing_reason.status_code, missing_reason.json()["errors"][0]["attr"]) == (400, "reason")
    with django_capture_on_commit_callbacks(execute=True):
        waived = client.post(f"{STAFF}{violation_id}/waive/", {"reason": "Signage was missing"})

    assert waived.status_code == 200, waived.json()
    assert (waived.json()["status"], waived.json()["resolution_note"]) == ("waived", "Signage was missing")
    violation = Violation.objects.get()
    assert violation.payment.status == PaymentStatus.CANCELLED
    audit = AuditLogEntry.objects.get(action=AuditAction.VIOLATION_WAIVED)
    assert (audit.actor_id, audit.target_id, audit.data["reason"]) == (
        staff_a.pk,
        str(violation.pk),
        "Signage was missing",
    )
    [email] = mail.outbox
    assert "waived" in email.body

    for path, body in (
        ("waive/", {"reason": "again"}),
        ("escalate/", {"reason": "x"}),
        ("evidence/", {"note": "late"}),
    ):
        refused = client.post(f"{STAFF}{violation_id}/{path}", body)
        assert (refused.status_code, refused.json()["errors"][0]["code"]) == (409, "invalid_transition"), path
    with pytest.raises(ProgrammingError), transaction.atomic():  # the database refuses it too
        Violation.objects.filter(pk=violation_id).update(fine_amount=1)
    with pytest.raises(ProgrammingError), transaction.atomic():
        Violation.objects.filter(pk=violation_id).delete()
    assert Violation.objects.get().fine_amount == 5000


def test_a_fine_paid_after_it_was_waived_is_refunded_in_full(
    auth_client, staff_a, facility, policy, driver, car, django_capture_on_commit_callbacks
):
    _issue(auth_client(staff_a), facility, django_capture_on_commit_callbacks, license_plate=car.plate)
    violation = Violation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        started = auth_client(driver).post(f"{DRIVER}{violation.pk}/pay/", {"provider": "sandbox"})
    assert started.status_code == 201
    violations.violation_waive(violation=violation, actor=staff_a, reason="goodwill")  # payment in flight: left alone
    assert Payment.objects.get().status == PaymentStatus.REQUIRES_ACTION

    with django_capture_on_commit_callbacks(execute=True):
        auth_client(driver).post(f"/api/v1/payments/{violation.payment_id}/sandbox-confirm/")

    payment = Payment.objects.get()
    refund = Refund.objects.get()
    assert (payment.status, refund.reason, refund.amount, refund.status) == (
        "succeeded",
        RefundReason.NOT_OWED,
        5000,
        "succeeded",
    )
    assert Violation.objects.get().status == "waived"


def test_escalate_is_audited_once(auth_client, staff_a, facility, policy, car, django_capture_on_commit_callbacks):
    client = auth_client(staff_a)
    violation_id = _issue(client, facility, django_capture_on_commit_callbacks, license_plate=car.plate).json()["id"]
    first = client.post(f"{STAFF}{violation_id}/escalate/", {"reason": "Third time this month"})
    assert first.status_code == 200
    assert first.json()["escalated_at"] is not None
    second = client.post(f"{STAFF}{violation_id}/escalate/", {"reason": "again"})
    assert second.status_code == 409
    assert AuditLogEntry.objects.filter(action=AuditAction.VIOLATION_ESCALATED).count() == 1
    assert [v["id"] for v in client.get(STAFF, {"escalated": "true"}).json()["results"]] == [violation_id]
    assert client.get(STAFF, {"escalated": "false"}).json()["results"] == []


def test_reopen_by_a_manager_within_the_window_requests_the_fine_again(
    auth_client, staff_a, manager_a, facility, policy, car, django_capture_on_commit_callbacks, settings
):
    settings.VIOLATION_REOPEN_DAYS = 14
    client = auth_client(staff_a)
    violation_id = _issue(client, facility, django_capture_on_commit_callbacks, license_plate=car.plate).json()["id"]
    client.post(f"{STAFF}{violation_id}/waive/", {"reason": "mistake?"})

    by_staff = client.post(f"{STAFF}{violation_id}/reopen/", {"reason": "no"})
    assert by_staff.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        reopened = auth_client(manager_a).post(f"{STAFF}{violation_id}/reopen/", {"reason": "Photo shows no permit"})
    assert reopened.status_code == 200, reopened.json()
    assert (reopened.json()["status"], reopened.json()["resolved_at"]) == ("notified", None)
    fines = Payment.objects.filter(purpose=PaymentPurpose.VIOLATION).order_by("created_at")
    assert [p.status for p in fines] == [PaymentStatus.CANCELLED, PaymentStatus.CREATED]
    assert Violation.objects.get().payment == fines.last()
    assert AuditLogEntry.objects.filter(action=AuditAction.VIOLATION_REOPENED).count() == 1

    client.post(f"{STAFF}{violation_id}/waive/", {"reason": "ok, waived"})
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1)):
        late = auth_client(manager_a).post(f"{STAFF}{violation_id}/reopen/", {"reason": "too late"})
    assert (late.status_code, late.json()["errors"][0]["code"]) == (409, "reopen_window_passed")
    assert Violation.objects.get().status == "waived"


def test_evidence_photo_note_and_gate_event(
    auth_client, staff_a, facility, policy, car, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = auth_client(staff_a)
    violation_id = _issue(client, facility, django_capture_on_commit_callbacks, license_plate=car.plate).json()["id"]
    photo = SimpleUploadedFile("car.png", PNG, content_type="image/png")
    added = client.post(f"{STAFF}{violation_id}/evidence/", {"photo": photo, "note": "front"}, format="multipart")
    assert added.status_code == 201, added.json()
    assert added.json()["kind"] == "photo"
    event = client.post(f"{STAFF}{violation_id}/evidence/", {"gate_event": "7b0c1c62-6b38-4bb7-9b8b-3f1f3c7f1a11"})
    assert event.json()["kind"] == "gate_event"
    empty = client.post(f"{STAFF}{violation_id}/evidence/", {})
    assert (empty.status_code, empty.json()["errors"][0]["attr"]) == (400, "note")
    kinds = list(ViolationEvidence.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["photo", "gate_event"]
    assert (tmp_path / ViolationEvidence.objects.get(kind="photo").photo.name).read_bytes() == PNG


def test_staff_of_another_organization_sees_and_changes_nothing(
    auth_client, staff_a, owner_b, facility, policy, car, django_capture_on_commit_callbacks
):
    violation_id = _issue(
        auth_client(staff_a), facility, django_capture_on_commit_callbacks, license_plate=car.plate
    ).json()["id"]
    other = auth_client(owner_b)
    assert other.get(STAFF).json()["results"] == []
    assert other.get(f"{STAFF}{violation_id}/").status_code == 404
    for path in ("waive/", "escalate/", "reopen/"):
        assert other.post(f"{STAFF}{violation_id}/{path}", {"reason": "x"}).status_code == 404
    assert other.get("/api/v1/enforcement/disputes/").json()["results"] == []
    assert Violation.objects.get().status == "notified"
    assert ViolationNotice.objects.count() == 1


def test_staff_list_filters(auth_client, staff_a, facility, policy, car, django_capture_on_commit_callbacks):
    client = auth_client(staff_a)
    first = _issue(client, facility, django_capture_on_commit_callbacks, license_plate=car.plate).json()["id"]
    second = _issue(
        client, facility, django_capture_on_commit_callbacks, license_plate="OTHER9", kind="blocking"
    ).json()["id"]
    assert [r["id"] for r in client.get(STAFF, {"kind": "blocking"}).json()["results"]] == [second]
    assert [r["id"] for r in client.get(STAFF, {"plate": car.plate.lower()}).json()["results"]] == [first]
    assert [r["id"] for r in client.get(STAFF, {"status": "issued"}).json()["results"]] == [second]
    assert {r["id"] for r in client.get(STAFF, {"facility": facility.pk}).json()["results"]} == {first, second}
    assert client.get(f"{STAFF}{first}/").json()["status"] == ViolationStatus.NOTIFIED


def test_a_known_drivers_fine_is_charged_to_their_saved_stripe_card(
    settings, staff_a, facility, policy, driver, car, django_capture_on_commit_callbacks
):
    import responses

    from payments.providers import providers_reset
    from payments.tests.conftest import STRIPE_TEST

    stripe = "https://api.stripe.com/v1"
    providers = dict(settings.PAYMENT_PROVIDERS)
    providers["stripe"] = {**providers["stripe"], "config": STRIPE_TEST}
    settings.PAYMENT_PROVIDERS = providers
    providers_reset()
    with responses.RequestsMock() as api:
        api.get(
            f"{stripe}/customers/search",
            json={"object": "search_result", "data": [{"id": "cus_1", "object": "customer"}], "has_more": False},
        )
        api.get(
            f"{stripe}/customers/cus_1/payment_methods",
            json={
                "object": "list",
                "data": [{"id": "pm_1", "object": "payment_method", "type": "card"}],
                "has_more": False,
            },
        )
        api.post(
            f"{stripe}/payment_intents",
            json={
                "id": "pi_fine",
                "object": "payment_intent",
                "amount": 5000,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {},
                "latest_charge": None,
                "last_payment_error": None,
            },
        )
        with django_capture_on_commit_callbacks(execute=True):
            violation = violations.violation_issue(
                actor=staff_a, facility=facility, kind="unauthorized", plate=car.plate
            )
        intent = next(call for call in api.calls if call.request.url == f"{stripe}/payment_intents")
    providers_reset()

    assert "off_session=true" in intent.request.body
    violation.refresh_from_db()
    assert violation.status == "paid"
    assert (violation.payment.provider, violation.payment.provider_payment_id, violation.payment.status) == (
        "stripe",
        "pi_fine",
        PaymentStatus.SUCCEEDED,
    )
