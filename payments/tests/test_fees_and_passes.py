"""Open payment requests for fees (overstay: off-session Stripe charge or the driver pays later) and
pass purchases."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from bookings import services as booking_services
from payments import ledger, services
from payments.models import Payment, PaymentPurpose, PaymentStatus
from pricing import services as pricing_services
from pricing.models import Pass, PassStatus

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/payments/"
STRIPE = "https://api.stripe.com/v1"


def _overstay(booking, driver, capture):
    with capture(execute=True):
        payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        services.payment_sandbox_confirm(payment=payment)
    booking_services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)
    with capture(execute=True):
        return booking_services.booking_check_out(
            booking_id=booking.pk, actor=driver, at=booking.end + timedelta(hours=1, minutes=30)
        )


def test_overstay_without_a_saved_card_becomes_an_open_request_the_driver_pays(
    auth_client, booking, driver, django_capture_on_commit_callbacks
):
    with responses.RequestsMock() as api:  # the driver has no Stripe customer: nothing is charged
        api.get(f"{STRIPE}/customers/search", json={"object": "search_result", "data": [], "has_more": False})
        done = _overstay(booking, driver, django_capture_on_commit_callbacks)
    assert done.overstay_amount == 2000  # two started hours past the end + grace at 1000/h
    request = Payment.objects.get(purpose=PaymentPurpose.OVERSTAY)
    assert (request.provider, request.status, request.amount, request.owner_amount) == ("", "created", 2000, 2000)
    assert request.failure_reason == "No saved payment method."

    client = auth_client(driver)
    listed = client.get(PAYMENTS, {"purpose": "overstay", "status": "created"}).json()
    assert [row["id"] for row in listed["results"]] == [str(request.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(f"{PAYMENTS}{request.pk}/pay/", {"provider": "sandbox"})
        assert paid.status_code == 201, paid.json()
        client.post(f"{PAYMENTS}{request.pk}/sandbox-confirm/")
    request.refresh_from_db()
    assert request.status == PaymentStatus.SUCCEEDED
    assert ledger.owed_to(booking.organization_id, "USD") == 4000 + 2000
    again = client.post(f"{PAYMENTS}{request.pk}/pay/", {"provider": "sandbox"})
    assert (again.status_code, again.json()["errors"][0]["code"]) == (409, "invalid_transition")


def test_overstay_is_charged_to_the_saved_card_off_session(booking, driver, django_capture_on_commit_callbacks):
    with responses.RequestsMock() as api:
        api.get(
            f"{STRIPE}/customers/search",
            json={
                "object": "search_result",
                "data": [{"id": "cus_1", "object": "customer", "created": 1}],
                "has_more": False,
            },
        )
        api.get(
            f"{STRIPE}/customers/cus_1/payment_methods",
            json={
                "object": "list",
                "data": [{"id": "pm_1", "object": "payment_method", "type": "card"}],
                "has_more": False,
                "url": "/v1/customers/cus_1/payment_methods",
            },
        )
        api.post(
            f"{STRIPE}/payment_intents",
            json={
                "id": "pi_off",
                "object": "payment_intent",
                "amount": 2000,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {},
                "latest_charge": None,
                "last_payment_error": None,
            },
        )
        _overstay(booking, driver, django_capture_on_commit_callbacks)
        intent_call = next(call for call in api.calls if call.request.url == f"{STRIPE}/payment_intents")
    fee = Payment.objects.get(purpose=PaymentPurpose.OVERSTAY)
    assert (fee.provider, fee.provider_payment_id, fee.status) == ("stripe", "pi_off", PaymentStatus.SUCCEEDED)
    assert "off_session=true" in intent_call.request.body
    assert intent_call.request.headers["Idempotency-Key"] == f"payment-{fee.pk}"


def test_buy_a_pass(auth_client, driver, car, facility, django_capture_on_commit_callbacks):
    product = pricing_services.pass_product_create(
        facility=facility, data={"name": "Commuter", "period": "monthly", "price": 20000}
    )
    client = auth_client(driver)
    response = client.post(f"{PAYMENTS}passes/", {"product": product.pk, "vehicle": str(car.pk), "provider": "sandbox"})
    assert response.status_code == 201, response.json()
    payment = response.json()["payment"]
    assert (payment["purpose"], payment["amount"], payment["platform_amount"]) == ("pass", 22050, 2050)
    driver_pass = Pass.objects.get(pk=payment["pass_purchase"])
    assert driver_pass.status == PassStatus.PENDING_PAYMENT
    assert driver_pass.valid_until - driver_pass.valid_from == timedelta(days=30)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{PAYMENTS}{payment['id']}/sandbox-confirm/")
    driver_pass.refresh_from_db()
    assert driver_pass.status == PassStatus.ACTIVE

    past = client.post(
        f"{PAYMENTS}passes/",
        {"product": product.pk, "provider": "sandbox", "start": (timezone.now() - timedelta(days=1)).isoformat()},
    )
    assert (past.status_code, past.json()["errors"][0]["attr"]) == (400, "start")
    missing = client.post(f"{PAYMENTS}passes/", {"product": 999999, "provider": "sandbox"})
    assert (missing.status_code, missing.json()["errors"][0]["attr"]) == (400, "product")
    assert Pass.objects.count() == 1
