"""Disputes: the driver contests once, staff decide (uphold / cancel) through the API and the admin,
the driver is emailed every decision, a cancelled fine is withdrawn."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditAction, AuditLogEntry
from enforcement import violations
from enforcement.models import Dispute, Violation
from payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.django_db

DRIVER = "/api/v1/violations/"
DISPUTES = "/api/v1/enforcement/disputes/"


@pytest.fixture
def violation(facility, policy, staff_a, car, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = violations.violation_issue(actor=staff_a, facility=facility, kind="blocking", plate=car.plate)
    mail.outbox.clear()
    return issued


def _dispute(client, violation, capture, fmt="json", **body):
    with capture(execute=True):
        return client.post(f"{DRIVER}{violation.pk}/dispute/", {"reason": "I had a permit", **body}, format=fmt)


def test_driver_disputes_once_with_evidence_and_staff_cancel_it(
    auth_client, driver, staff_a, violation, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = auth_client(driver)
    upload = SimpleUploadedFile("permit.pdf", b"%PDF-1.4 permit", content_type="application/pdf")
    opened = _dispute(
        client,
        violation,
        django_capture_on_commit_callbacks,
        "multipart",
        evidence="Permit no. 42",
        evidence_file=upload,
    )
    assert opened.status_code == 201, opened.json()
    assert (opened.json()["status"], opened.json()["evidence"]) == ("open", "Permit no. 42")
    assert (tmp_path / Dispute.objects.get().evidence_file.name).read_bytes() == b"%PDF-1.4 permit"
    assert Violation.objects.get().status == "disputed"
    assert "received your dispute" in mail.outbox[-1].body
    twice = _dispute(client, violation, django_capture_on_commit_callbacks)
    assert (twice.status_code, twice.json()["errors"][0]["code"]) == (409, "invalid_transition")
    assert Dispute.objects.count() == 1

    queue = auth_client(staff_a).get(DISPUTES, {"status": "open"}).json()
    assert [row["id"] for row in queue["results"]] == [opened.json()["id"]]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decided = auth_client(staff_a).post(
            f"{DISPUTES}{opened.json()['id']}/resolve/", {"decision": "cancel", "note": "Permit verified"}
        )

    assert decided.status_code == 200, decided.json()
    assert (decided.json()["status"], decided.json()["decision_note"]) == ("cancelled", "Permit verified")
    violation.refresh_from_db()
    assert (violation.status, violation.resolution_note) == ("cancelled", "Permit verified")
    assert violation.payment.status == PaymentStatus.CANCELLED
    [email] = mail.outbox
    assert email.to == [violation.driver.email]
    assert "nothing is owed" in email.body
    assert "Permit verified" in email.body
    assert AuditLogEntry.objects.get(action=AuditAction.DISPUTE_RESOLVED).data["decision"] == "cancelled"
    again = auth_client(staff_a).post(f"{DISPUTES}{opened.json()['id']}/resolve/", {"decision": "uphold", "note": "x"})
    assert again.status_code == 409


def test_upheld_dispute_keeps_the_fine_which_the_driver_then_pays(
    auth_client, driver, staff_a, violation, django_capture_on_commit_callbacks
):
    dispute_id = _dispute(auth_client(driver), violation, django_capture_on_commit_callbacks).json()["id"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        upheld = auth_client(staff_a).post(
            f"{DISPUTES}{dispute_id}/resolve/", {"decision": "uphold", "note": "No permit shown"}
        )
    assert upheld.status_code == 200
    violation.refresh_from_db()
    assert violation.status == "upheld"
    assert violation.payment.status == PaymentStatus.CREATED
    assert "the fine stands" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        paid = auth_client(driver).post(f"{DRIVER}{violation.pk}/pay/", {"provider": "sandbox"})
        auth_client(driver).post(f"/api/v1/payments/{paid.json()['payment']['id']}/sandbox-confirm/")
    violation.refresh_from_db()
    assert violation.status == "paid"
    assert Payment.objects.get(pk=violation.payment_id).status == PaymentStatus.SUCCEEDED


def test_bad_decisions_and_foreign_disputes(
    auth_client, driver, staff_a, owner_b, violation, django_capture_on_commit_callbacks
):
    dispute_id = _dispute(auth_client(driver), violation, django_capture_on_commit_callbacks).json()["id"]
    bad = auth_client(staff_a).post(f"{DISPUTES}{dispute_id}/resolve/", {"decision": "maybe", "note": "x"})
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "decision")
    assert (
        auth_client(owner_b).post(f"{DISPUTES}{dispute_id}/resolve/", {"decision": "cancel", "note": "x"}).status_code
        == 404
    )
    no_reason = auth_client(driver).post(f"{DRIVER}{violation.pk}/dispute/", {})
    assert (no_reason.status_code, no_reason.json()["errors"][0]["attr"]) == (400, "reason")
    assert Dispute.objects.get().status == "open"
    assert Violation.objects.get().status == "disputed"


def test_admin_resolves_disputes_with_a_note(client, driver, violation, django_capture_on_commit_callbacks, admin_user):
    dispute = violations.dispute_open(violation=violation, driver=driver, reason="wrong car")
    client.force_login(admin_user)
    url = "/admin/enforcement/dispute/"
    assert client.get(url).status_code == 200
    ask = client.post(url, {"action": "uphold", "_selected_action": [dispute.pk]})
    assert ask.status_code == 200
    assert b"reason" in ask.content
    assert Dispute.objects.get().status == "open"  # nothing decided before the note is given
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url, {"action": "uphold", "_selected_action": [dispute.pk], "apply": "1", "reason": "Seen on camera"}
        )
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decision_note, dispute.decided_by) == ("upheld", "Seen on camera", admin_user)
    assert Violation.objects.get().status == "upheld"
    assert client.get(f"/admin/enforcement/violation/{violation.pk}/change/").status_code == 200
