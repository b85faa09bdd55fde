"""End-to-end flows with the real provider classes, HTTP mocked at the transport (``responses``):
Stripe checkout through the API, Razorpay checkout + verify, provider outage, reconciliation of a
payment whose webhook was lost, and a refund retried after a timeout with the same idempotency key."""

import hashlib
import hmac
from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone

from bookings.models import BookingStatus
from payments import services
from payments.models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from payments.providers.base import ProviderPayment, ProviderUnavailableError

from .conftest import RAZORPAY_TEST

pytestmark = pytest.mark.django_db

STRIPE = "https://api.stripe.com/v1"
RAZORPAY = "https://api.razorpay.com/v1"
PAYMENTS = "/api/v1/payments/"


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch):
    import stripe

    monkeypatch.setattr(stripe.RequestsClient, "_sleep_time_seconds", lambda self, *args, **kwargs: 0)


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _intent(status: str, amount: int = 4450) -> dict:
    return {
        "id": "pi_flow",
        "object": "payment_intent",
        "amount": amount,
        "currency": "usd",
        "status": status,
        "client_secret": "pi_flow_secret_x",
        "last_payment_error": None,
        "latest_charge": None,
        "metadata": {},
    }


def _stripe_checkout(api):
    api.get(f"{STRIPE}/customers/search", json={"object": "search_result", "data": [], "has_more": False})
    api.post(f"{STRIPE}/customers", json={"id": "cus_1", "object": "customer", "metadata": {}})
    api.post(f"{STRIPE}/payment_intents", json=_intent("requires_payment_method"))


def test_stripe_checkout_through_the_api(api, auth_client, driver, booking):
    _stripe_checkout(api)
    response = auth_client(driver).post(PAYMENTS, {"booking": str(booking.pk), "provider": "stripe"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["client"] == {
        "client_secret": "pi_flow_secret_x",
        "publishable_key": "pk_test_123",
        "payment_intent": "pi_flow",
    }
    assert (body["payment"]["status"], body["payment"]["provider_payment_id"]) == ("created", "pi_flow")
    intent_call = next(call for call in api.calls if call.request.url == f"{STRIPE}/payment_intents")
    assert intent_call.request.headers["Idempotency-Key"] == f"payment-{body['payment']['id']}"
    assert "amount=4450" in intent_call.request.body


def test_provider_outage_is_503_and_the_payment_is_failed(api, auth_client, driver, booking):
    api.get(f"{STRIPE}/customers/search", body=requests.ConnectionError("down"))
    client = auth_client(driver)
    client.raise_request_exception = False
    response = client.post(PAYMENTS, {"booking": str(booking.pk), "provider": "stripe"})

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "provider_unavailable"
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT  # the driver may retry while the hold lasts


def test_reconciliation_repairs_a_lost_webhook_and_a_rerun_changes_nothing(
    api, driver, booking, django_capture_on_commit_callbacks
):
    _stripe_checkout(api)
    payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="stripe")
    api.get(f"{STRIPE}/payment_intents/pi_flow", json=_intent("succeeded"))
    later = timezone.now() + timedelta(minutes=11)

    assert services.payments_reconcile(now=timezone.now() + timedelta(minutes=5)) == 0  # not stale yet
    with django_capture_on_commit_callbacks(execute=True):
        assert services.payments_reconcile(now=later) == 1
    assert services.payments_reconcile(now=later) == 0

    payment.refresh_from_db()
    booking.refresh_from_db()
    assert (payment.status, booking.status) == (PaymentStatus.SUCCEEDED, BookingStatus.CONFIRMED)


def test_refund_timeout_then_retry_gives_one_refund_with_one_key(
    api, driver, desk, booking, django_capture_on_commit_callbacks
):
    _stripe_checkout(api)
    payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="stripe")
    services.payment_apply_provider_state(
        payment_id=payment.pk, state=ProviderPayment("pi_flow", PaymentStatus.SUCCEEDED, amount=4450, currency="USD")
    )
    refund_body = {"id": "re_1", "object": "refund", "status": "succeeded", "amount": 1000, "metadata": {}}
    # Every attempt of the first run times out (the library retries twice, same key); the next run succeeds.
    for _ in range(3):
        api.post(f"{STRIPE}/refunds", body=requests.ConnectionError("timeout"))
    refund = services.refund_request(payment_id=payment.pk, actor=desk, amount=1000, reason=RefundReason.GOODWILL)
    with pytest.raises(ProviderUnavailableError):
        services.refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING

    api.replace(responses.POST, f"{STRIPE}/refunds", json=refund_body)
    services.payments_reconcile(now=timezone.now() + timedelta(minutes=3))
    refund.refresh_from_db()
    assert (refund.status, refund.provider_refund_id) == (RefundStatus.SUCCEEDED, "re_1")
    keys = {call.request.headers["Idempotency-Key"] for call in api.calls if call.request.url == f"{STRIPE}/refunds"}
    assert keys == {f"refund-{refund.pk}"}
    assert Refund.objects.count() == 1


def _checkout_signature(order_id: str, payment_id: str) -> str:
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(RAZORPAY_TEST["key_secret"].encode(), message, hashlib.sha256).hexdigest()


def test_razorpay_checkout_and_verify(api, auth_client, driver, booking, django_capture_on_commit_callbacks):
    api.post(
        f"{RAZORPAY}/orders",
        json={"id": "order_1", "entity": "order", "amount": 4450, "currency": "USD", "status": "created"},
    )
    client = auth_client(driver)
    created = client.post(PAYMENTS, {"booking": str(booking.pk), "provider": "razorpay"})
    assert created.status_code == 201, created.json()
    assert created.json()["client"] == {
        "order_id": "order_1",
        "key_id": "rzp_test_key",
        "amount": 4450,
        "currency": "USD",
    }

    bad = client.post(
        f"{PAYMENTS}razorpay/verify/",
        {"razorpay_order_id": "order_1", "razorpay_payment_id": "pay_1", "razorpay_signature": "0" * 64},
    )
    assert bad.status_code == 400
    assert (bad.json()["errors"][0]["code"], bad.json()["errors"][0]["attr"]) == (
        "invalid_signature",
        "razorpay_signature",
    )

    api.get(
        f"{RAZORPAY}/payments/pay_1",
        json={
            "id": "pay_1",
            "entity": "payment",
            "amount": 4450,
            "currency": "USD",
            "status": "captured",
            "order_id": "order_1",
            "method": "card",
            "card": {"network": "Visa", "last4": "1111"},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        good = client.post(
            f"{PAYMENTS}razorpay/verify/",
            {
                "razorpay_order_id": "order_1",
                "razorpay_payment_id": "pay_1",
                "razorpay_signature": _checkout_signature("order_1", "pay_1"),
            },
        )
    assert good.status_code == 200, good.json()
    assert (good.json()["status"], good.json()["card_last4"]) == ("succeeded", "1111")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    other = client.post(
        f"{PAYMENTS}razorpay/verify/",
        {"razorpay_order_id": "order_x", "razorpay_payment_id": "pay_1", "razorpay_signature": "0" * 64},
    )
    assert (other.status_code, other.json()["errors"][0]["attr"]) == (400, "razorpay_order_id")
