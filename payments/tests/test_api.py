"""Payments API: create (sandbox), scoping, refunds and approval, cash, receipts, earnings, payouts."""

import pytest

from accounts.models import AuditLogEntry
from payments.models import Payment, PaymentStatus, PayoutAccount, Refund

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/payments/"


def _error(response):
    return response.json()["errors"][0]


@pytest.fixture
def paid(auth_client, driver, booking, django_capture_on_commit_callbacks):
    client = auth_client(driver)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(PAYMENTS, {"booking": str(booking.pk), "provider": "sandbox"})
    assert created.status_code == 201, created.json()
    payment_id = created.json()["payment"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"{PAYMENTS}{payment_id}/sandbox-confirm/")
    assert confirmed.status_code == 200
    return Payment.objects.get(pk=payment_id)


def test_driver_pays_with_the_sandbox_and_the_booking_is_confirmed(
    auth_client, driver, booking, django_capture_on_commit_callbacks
):
    client = auth_client(driver)
    client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_IDEMPOTENCY_KEY="pay-1")
    body = {"booking": str(booking.pk), "provider": "sandbox"}
    first = client.post(PAYMENTS, body)
    assert first.status_code == 201
    payload = first.json()
    assert payload["payment"]["amount"] == 4450
    assert payload["payment"]["status"] == "requires_action"
    assert payload["client"]["confirm_url"].endswith("/sandbox-confirm/")
    replay = client.post(PAYMENTS, body)
    assert replay.json()["payment"]["id"] == payload["payment"]["id"]
    assert Payment.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"{PAYMENTS}{payload['payment']['id']}/sandbox-confirm/")
    assert confirmed.json()["status"] == "succeeded"
    assert client.get(f"/api/v1/bookings/{booking.pk}/").json()["status"] == "confirmed"


def test_create_errors_are_clear_and_write_nothing(auth_client, driver, stranger, booking):
    client = auth_client(stranger)
    response = client.post(PAYMENTS, {"booking": str(booking.pk), "provider": "sandbox"})
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["attr"]) == ("does_not_exist", "booking")

    mine = auth_client(driver)
    unknown = mine.post(PAYMENTS, {"booking": str(booking.pk), "provider": "paypal"})
    assert unknown.status_code == 400
    assert (_error(unknown)["code"], _error(unknown)["attr"]) == ("provider_not_configured", "provider")
    cash = mine.post(PAYMENTS, {"booking": str(booking.pk), "provider": "cash"})
    assert cash.status_code == 403
    assert _error(cash)["code"] == "cash_staff_only"
    missing = mine.post(PAYMENTS, {"provider": "sandbox"})
    assert missing.status_code == 400
    assert _error(missing)["attr"] == "booking"
    assert Payment.objects.count() == 0


def test_payments_are_scoped(auth_client, driver, desk, owner_b, stranger, paid):
    assert [row["id"] for row in auth_client(driver).get(PAYMENTS).json()["results"]] == [str(paid.pk)]
    assert [row["id"] for row in auth_client(desk).get(PAYMENTS).json()["results"]] == [str(paid.pk)]
    assert auth_client(owner_b).get(PAYMENTS).json()["count"] == 0
    assert auth_client(stranger).get(f"{PAYMENTS}{paid.pk}/").status_code == 404
    assert auth_client(owner_b).get(f"{PAYMENTS}{paid.pk}/").status_code == 404


def test_refund_by_staff_with_idempotency_and_limits(
    auth_client, desk, driver, owner_b, paid, django_capture_on_commit_callbacks
):
    url = f"{PAYMENTS}{paid.pk}/refund/"
    assert auth_client(driver).post(url, {"reason": "goodwill"}).status_code == 404
    assert auth_client(owner_b).post(url, {"reason": "goodwill"}).status_code == 404

    client = auth_client(desk)
    client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_IDEMPOTENCY_KEY="refund-1")
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {"amount": 1000, "reason": "goodwill", "note": "sorry"})
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "pending"  # executed at the provider after commit
    assert Refund.objects.get(pk=first.json()["id"]).status == "succeeded"
    again = client.post(url, {"amount": 1000, "reason": "goodwill", "note": "sorry"})
    assert again.json()["id"] == first.json()["id"]
    assert Refund.objects.count() == 1

    too_much = auth_client(desk).post(url, {"amount": 3451, "reason": "goodwill"})
    assert too_much.status_code == 400
    assert (_error(too_much)["code"], _error(too_much)["attr"]) == ("refund_exceeds_refundable", "amount")
    bad_reason = auth_client(desk).post(url, {"reason": "hold_expired"})
    assert bad_reason.status_code == 400
    assert _error(bad_reason)["attr"] == "reason"
    assert Refund.objects.count() == 1


def test_refund_approval_flow(auth_client, desk, second_desk, org_a, paid, django_capture_on_commit_callbacks):
    PayoutAccount.objects.create(organization=org_a, refund_approval_threshold=1000)
    response = auth_client(desk).post(f"{PAYMENTS}{paid.pk}/refund/", {"amount": 2000, "reason": "dispute"})
    assert response.json()["status"] == "pending_approval"
    approve = f"/api/v1/refunds/{response.json()['id']}/approve/"
    same = auth_client(desk).post(approve)
    assert same.status_code == 403
    assert _error(same)["code"] == "same_approver"
    with django_capture_on_commit_callbacks(execute=True):
        approved = auth_client(second_desk).post(approve)
    assert approved.status_code == 200
    assert approved.json()["status"] == "pending"
    assert Refund.objects.get(pk=approved.json()["id"]).status == "succeeded"
    assert AuditLogEntry.objects.filter(action="refund_approved").count() == 1


def test_staff_record_cash(auth_client, desk, driver, owner_b, booking, django_capture_on_commit_callbacks):
    url = f"{PAYMENTS}cash/"
    assert auth_client(owner_b).post(url, {"booking": str(booking.pk)}).status_code == 400
    assert auth_client(driver).post(url, {"booking": str(booking.pk)}).status_code == 400
    wrong = auth_client(desk).post(url, {"booking": str(booking.pk), "amount": 100})
    assert (wrong.status_code, _error(wrong)["code"]) == (400, "amount_mismatch")
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(desk).post(url, {"booking": str(booking.pk), "amount": 4450})
    assert response.status_code == 201
    assert (response.json()["provider"], response.json()["status"]) == ("cash", PaymentStatus.SUCCEEDED)


def test_earnings_and_payouts_for_members_only(auth_client, owner_a, owner_b, org_a, paid):
    url = f"/api/v1/organizations/{org_a.pk}/earnings/"
    figures = auth_client(owner_a).get(url)
    assert figures.status_code == 200
    assert (figures.json()["gross"], figures.json()["fees"], figures.json()["pending"]) == (4450, 450, 4000)
    assert auth_client(owner_b).get(url).status_code == 404
    bad = auth_client(owner_a).get(url, {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"})
    assert (bad.status_code, _error(bad)["attr"]) == (400, "from")
    assert auth_client(owner_a).get("/api/v1/payouts/").json()["count"] == 0


def test_providers_list_shows_the_configured_ones(auth_client, driver):
    names = [row["name"] for row in auth_client(driver).get(f"{PAYMENTS}providers/").json()]
    assert names == ["stripe", "razorpay", "sandbox"]


def test_receipt_pdf_for_the_payer_and_the_organization_only(auth_client, driver, desk, owner_b, paid, booking):
    response = auth_client(driver).get(f"{PAYMENTS}{paid.pk}/receipt.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"receipt-R-{paid.pk.hex[:8].upper()}.pdf" in response["Content-Disposition"]
    assert auth_client(desk).get(f"{PAYMENTS}{paid.pk}/receipt.pdf").status_code == 200
    assert auth_client(owner_b).get(f"{PAYMENTS}{paid.pk}/receipt.pdf").status_code == 404


def test_no_receipt_before_payment(auth_client, driver, booking):
    created = auth_client(driver).post(PAYMENTS, {"booking": str(booking.pk), "provider": "sandbox"})
    response = auth_client(driver).get(f"{PAYMENTS}{created.json()['payment']['id']}/receipt.pdf")
    assert response.status_code == 409
    assert _error(response)["code"] == "receipt_unavailable"
