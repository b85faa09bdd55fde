"""The Stripe provider on its own: outgoing HTTP (mocked at the transport with ``responses``, so an
unregistered call fails the test), webhook signatures computed with Stripe's real scheme
(``t=<ts>,v1=hex(HMAC-SHA256(secret, "<ts>.<body>"))``) under a frozen clock, status mapping and error
mapping. No database: payments, refunds and payouts are unsaved model instances."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
import stripe
import time_machine
from django.http.request import HttpHeaders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from payments.models import Payment, PaymentStatus, Payout, Refund, RefundReason, RefundStatus
from payments.providers import provider_get
from payments.providers.base import (
    Checkout,
    ProviderDeclinedError,
    ProviderNotConfiguredError,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailableError,
    WebhookNotice,
    WebhookSignatureError,
)
from payments.providers.stripe import StripeProvider

SECRET_KEY = "sk_test_123"
PUBLISHABLE_KEY = "pk_test_123"
WEBHOOK_SECRET = "whsec_test_secret"
CONFIG = {
    "secret_key": SECRET_KEY,
    "publishable_key": PUBLISHABLE_KEY,
    "webhook_secret": WEBHOOK_SECRET,
    "api_base": "",
}
API = "https://api.stripe.com/v1"

PAYMENT_UUID = uuid.UUID("6f1c2b4e-8a3d-4c5e-9f70-112233445566")
ORG_UUID = uuid.UUID("0a0b0c0d-0e0f-4010-8111-213141516171")
BOOKING_UUID = uuid.UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
REFUND_UUID = uuid.UUID("12345678-1234-4234-8234-123456789abc")
PAYOUT_UUID = uuid.UUID("fedcba98-7654-4321-8fed-cba987654321")
USER_UUID = uuid.UUID("0badc0de-0000-4000-8000-000000000001")
PI_ID = "pi_3PQ8x2Lr0Zx1ab"
CUSTOMER_ID = "cus_PQ8yB8uXcVq2e"
EVENT_ID = "evt_1PQ90kGv5hWb7Lm"
NOW = 1_760_000_000  # the frozen clock of the webhook tests


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library sleeps 0.5 s+ between its retries; the retries themselves still happen."""
    monkeypatch.setattr(stripe.RequestsClient, "_sleep_time_seconds", lambda self, num_retries: 0.0)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """The mocked transport: any request not registered raises, every registered one must be made."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def provider() -> StripeProvider:
    return StripeProvider(CONFIG)


@pytest.fixture
def payment() -> Payment:
    return Payment(
        id=PAYMENT_UUID,
        organization_id=ORG_UUID,
        booking_id=BOOKING_UUID,
        amount=4450,
        owner_amount=4000,
        platform_amount=450,
        currency="USD",
        provider="stripe",
        provider_payment_id=PI_ID,
        status=PaymentStatus.SUCCEEDED,
    )


@pytest.fixture
def refund(payment: Payment) -> Refund:
    return Refund(
        id=REFUND_UUID,
        payment=payment,
        amount=1000,
        owner_amount=900,
        platform_amount=100,
        reason=RefundReason.CANCELLATION,
        status=RefundStatus.PENDING,
    )


@pytest.fixture
def payout() -> Payout:
    return Payout(
        id=PAYOUT_UUID,
        organization_id=ORG_UUID,
        currency="USD",
        amount=40000,
        period_end=datetime(2025, 3, 1, tzinfo=UTC),
        provider="stripe",
        account_id="acct_1Owner0001",
    )


@pytest.fixture
def driver() -> User:
    return User(id=USER_UUID, email="driver@example.com")


# ---------------------------------------------------------------------------------------- helpers


def intent(status: str, **overrides: Any) -> dict[str, Any]:
    """A PaymentIntent as Stripe answers it."""
    body: dict[str, Any] = {
        "id": PI_ID,
        "object": "payment_intent",
        "amount": 4450,
        "amount_received": 4450 if status == "succeeded" else 0,
        "currency": "usd",
        "status": status,
        "client_secret": f"{PI_ID}_secret_Zx81",
        "customer": None,
        "last_payment_error": None,
        "latest_charge": None,
        "metadata": {"payment_id": str(PAYMENT_UUID), "organization_id": str(ORG_UUID)},
        "livemode": False,
    }
    body.update(overrides)
    return body


def charge(brand: str = "visa", last4: str = "4242") -> dict[str, Any]:
    """An expanded ``latest_charge``."""
    return {
        "id": "ch_3PQ8x2Lr0Zx1ab",
        "object": "charge",
        "payment_method_details": {
            "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2030, "fingerprint": "Xt5E"},
        },
    }


DECLINE = {
    "type": "card_error",
    "code": "card_declined",
    "decline_code": "insufficient_funds",
    "message": "Your card has insufficient funds.",
}


def search_result(*customers: dict[str, Any]) -> dict[str, Any]:
    return {"object": "search_result", "url": "/v1/customers/search", "has_more": False, "data": list(customers)}


def stripe_list(url: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "list", "url": url, "has_more": False, "data": list(items)}


def stripe_error(error_type: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"error": {"type": error_type, "message": message, **fields}}


def form(call: Any) -> dict[str, str]:
    """The form-encoded body of a request (Stripe's ``a[b]=c`` keys kept as they are)."""
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode()
    pairs = parse_qsl(body or "", keep_blank_values=True)
    assert len(pairs) == len({key for key, _ in pairs})  # no key sent twice
    return dict(pairs)


def idempotency_key(call: Any) -> str | None:
    return call.request.headers.get("Idempotency-Key")


def sign(body: bytes, timestamp: int = NOW, secret: str = WEBHOOK_SECRET) -> str:
    """Stripe's v1 scheme, computed independently of the library."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed(body: bytes, timestamp: int = NOW, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"Stripe-Signature": f"t={timestamp},v1={sign(body, timestamp, secret)}"}


def event(event_type: str, obj: Any, event_id: str = EVENT_ID) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": NOW,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# ---------------------------------------------------------------------------------------- configuration


def test_the_registry_builds_the_configured_provider() -> None:
    provider = provider_get("stripe")
    assert isinstance(provider, StripeProvider)
    assert (provider.name, provider.label, provider.supports_off_session, provider.supports_transfers) == (
        "stripe",
        "Stripe",
        True,
        True,
    )
    assert provider.is_configured() is True


@pytest.mark.parametrize("missing", ["secret_key", "publishable_key", "webhook_secret"])
def test_a_missing_key_leaves_the_provider_unconfigured_and_it_refuses_every_call(
    missing: str,
    api: responses.RequestsMock,
    payment: Payment,
    refund: Refund,
    payout: Payout,
    driver: User,
) -> None:
    provider = StripeProvider({**CONFIG, missing: ""})

    assert provider.is_configured() is False
    with pytest.raises(ProviderNotConfiguredError):
        provider.ensure_configured()
    with pytest.raises(ProviderNotConfiguredError):
        provider.create_payment(payment=payment, customer=driver)
    with pytest.raises(ProviderNotConfiguredError):
        provider.fetch_payment(payment=payment)
    with pytest.raises(ProviderNotConfiguredError):
        provider.refund(payment=payment, refund=refund)
    with pytest.raises(ProviderNotConfiguredError):
        provider.transfer(payout=payout)
    with pytest.raises(ProviderNotConfiguredError):
        provider.charge_off_session(payment=payment, customer=driver)
    assert len(api.calls) == 0


@pytest.mark.usefixtures("clock")
def test_an_empty_webhook_secret_never_validates_a_webhook() -> None:
    provider = StripeProvider({**CONFIG, "webhook_secret": ""})
    body = encode(event("payment_intent.succeeded", intent("succeeded")))
    with pytest.raises(WebhookSignatureError):
        provider.parse_webhook(body=body, headers=signed(body, secret=""))


def test_the_secrets_are_not_in_the_repr(provider: StripeProvider) -> None:
    assert SECRET_KEY not in repr(provider)
    assert WEBHOOK_SECRET not in repr(provider)


# ---------------------------------------------------------------------------------------- create_payment


def test_create_payment_without_a_driver_creates_an_automatic_payment_intent(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment
) -> None:
    api.post(f"{API}/payment_intents", json=intent("requires_payment_method"))

    checkout = provider.create_payment(payment=payment, customer=None)

    assert checkout == Checkout(
        provider_payment_id=PI_ID,
        client_data={
            "client_secret": f"{PI_ID}_secret_Zx81",
            "publishable_key": PUBLISHABLE_KEY,
            "payment_intent": PI_ID,
        },
        status=PaymentStatus.CREATED,
    )
    (call,) = api.calls
    assert (call.request.method, call.request.url) == ("POST", f"{API}/payment_intents")
    assert call.request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert idempotency_key(call) == f"payment-{PAYMENT_UUID}"
    assert form(call) == {
        "amount": "4450",
        "currency": "usd",
        "automatic_payment_methods[enabled]": "true",
        "metadata[payment_id]": str(PAYMENT_UUID),
        "metadata[organization_id]": str(ORG_UUID),
        "metadata[booking_id]": str(BOOKING_UUID),
    }
    assert SECRET_KEY not in json.dumps(checkout.client_data)


def test_create_payment_for_a_new_driver_creates_their_customer_with_its_own_key(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(f"{API}/customers/search", json=search_result())
    api.post(f"{API}/customers", json={"id": CUSTOMER_ID, "object": "customer", "created": NOW})
    api.post(f"{API}/payment_intents", json=intent("requires_payment_method", customer=CUSTOMER_ID))

    checkout = provider.create_payment(payment=payment, customer=driver)

    assert (checkout.provider_payment_id, checkout.status) == (PI_ID, PaymentStatus.CREATED)
    search, create_customer, create_intent = api.calls
    assert search.request.method == "GET"
    assert search.request.url.startswith(f"{API}/customers/search?")
    assert dict(parse_qsl(search.request.url.split("?", 1)[1])) == {
        "query": f"metadata['user_id']:'{USER_UUID}'",
        "limit": "10",
    }
    assert idempotency_key(create_customer) == f"customer-{USER_UUID}"
    assert form(create_customer) == {"metadata[user_id]": str(USER_UUID)}  # no email: the key's body never changes
    assert idempotency_key(create_intent) == f"payment-{PAYMENT_UUID}"
    sent = form(create_intent)
    assert (sent["customer"], sent["setup_future_usage"]) == (CUSTOMER_ID, "off_session")
    assert (sent["amount"], sent["currency"], sent["metadata[payment_id]"]) == ("4450", "usd", str(PAYMENT_UUID))


def test_create_payment_for_a_known_driver_reuses_their_oldest_customer(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(
        f"{API}/customers/search",
        json=search_result(
            {"id": "cus_Newer", "object": "customer", "created": NOW - 10},
            {"id": CUSTOMER_ID, "object": "customer", "created": NOW - 86_400},
        ),
    )
    api.post(f"{API}/payment_intents", json=intent("requires_payment_method", customer=CUSTOMER_ID))

    provider.create_payment(payment=payment, customer=driver)

    assert [call.request.method for call in api.calls] == ["GET", "POST"]  # no customer created
    assert form(api.calls[1])["customer"] == CUSTOMER_ID


def test_an_intent_without_booking_has_no_booking_metadata(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment
) -> None:
    payment.booking_id = None
    api.post(f"{API}/payment_intents", json=intent("requires_payment_method"))

    provider.create_payment(payment=payment, customer=None)

    sent = form(api.calls[0])
    assert {key: value for key, value in sent.items() if key.startswith("metadata")} == {
        "metadata[payment_id]": str(PAYMENT_UUID),
        "metadata[organization_id]": str(ORG_UUID),
    }
    assert "setup_future_usage" not in sent
    assert "customer" not in sent


@pytest.mark.parametrize(
    ("stripe_status", "expected"),
    [
        ("requires_payment_method", PaymentStatus.CREATED),
        ("requires_confirmation", PaymentStatus.CREATED),
        ("requires_action", PaymentStatus.REQUIRES_ACTION),
        ("processing", PaymentStatus.PROCESSING),
        ("succeeded", PaymentStatus.SUCCEEDED),
        ("something_new", PaymentStatus.CREATED),
    ],
)
def test_create_payment_maps_the_intent_status(
    stripe_status: str, expected: str, api: responses.RequestsMock, provider: StripeProvider, payment: Payment
) -> None:
    api.post(f"{API}/payment_intents", json=intent(stripe_status))

    assert provider.create_payment(payment=payment, customer=None).status == expected


@pytest.mark.parametrize(
    ("api_base", "expected_url"),
    [
        ("http://stripe-mock.test:12111", "http://stripe-mock.test:12111/v1/payment_intents"),
        ("http://stripe-mock.test:12111/", "http://stripe-mock.test:12111/v1/payment_intents"),
        ("http://stripe-mock.test:12111/v1/", "http://stripe-mock.test:12111/v1/payment_intents"),
    ],
)
def test_api_base_points_the_client_at_another_server(
    api_base: str, expected_url: str, api: responses.RequestsMock, payment: Payment
) -> None:
    provider = StripeProvider({**CONFIG, "api_base": api_base})
    api.post(expected_url, json=intent("requires_payment_method"))

    assert provider.create_payment(payment=payment, customer=None).provider_payment_id == PI_ID
    assert api.calls[0].request.url == expected_url


# ---------------------------------------------------------------------------------------- fetch_payment


@pytest.mark.parametrize(
    ("overrides", "expected", "failure_reason"),
    [
        ({"status": "requires_payment_method"}, PaymentStatus.CREATED, ""),
        (
            {"status": "requires_payment_method", "last_payment_error": DECLINE},
            PaymentStatus.FAILED,
            "Your card has insufficient funds.",
        ),
        ({"status": "requires_confirmation"}, PaymentStatus.CREATED, ""),
        ({"status": "requires_action"}, PaymentStatus.REQUIRES_ACTION, ""),
        ({"status": "processing"}, PaymentStatus.PROCESSING, ""),
        ({"status": "requires_capture"}, PaymentStatus.PROCESSING, ""),
        ({"status": "succeeded"}, PaymentStatus.SUCCEEDED, ""),
        ({"status": "canceled"}, PaymentStatus.CANCELLED, ""),
        ({"status": "something_new"}, None, ""),
    ],
)
def test_fetch_payment_maps_the_intent_and_its_latest_charge(
    overrides: dict[str, Any],
    expected: str | None,
    failure_reason: str,
    api: responses.RequestsMock,
    provider: StripeProvider,
    payment: Payment,
) -> None:
    api.get(f"{API}/payment_intents/{PI_ID}", json=intent(latest_charge=charge(), **overrides))

    state = provider.fetch_payment(payment=payment)

    assert state == ProviderPayment(
        provider_payment_id=PI_ID,
        status=expected,
        failure_reason=failure_reason,
        card_brand="visa",
        card_last4="4242",
        amount=4450,
        currency="USD",
    )
    (call,) = api.calls
    assert call.request.url == f"{API}/payment_intents/{PI_ID}?expand%5B0%5D=latest_charge"
    assert idempotency_key(call) is None


@pytest.mark.parametrize(
    "latest_charge",
    [
        pytest.param(None, id="no-charge"),
        pytest.param("ch_3PQ8x2Lr0Zx1ab", id="not-expanded"),
        pytest.param({"id": "ch_1", "payment_method_details": {"type": "us_bank_account"}}, id="not-a-card"),
        pytest.param(charge(last4="42"), id="bad-last4"),
    ],
)
def test_fetch_payment_without_card_details_stores_no_card(
    latest_charge: Any, api: responses.RequestsMock, provider: StripeProvider, payment: Payment
) -> None:
    api.get(f"{API}/payment_intents/{PI_ID}", json=intent("succeeded", latest_charge=latest_charge))

    state = provider.fetch_payment(payment=payment)

    assert (state.status, state.card_brand, state.card_last4) == (PaymentStatus.SUCCEEDED, "", "")


def test_fetch_payment_without_an_intent_is_declined_without_calling_stripe(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment
) -> None:
    payment.provider_payment_id = ""
    with pytest.raises(ProviderDeclinedError):
        provider.fetch_payment(payment=payment)
    assert len(api.calls) == 0


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("answer", "expected", "attempts", "detail"),
    [
        pytest.param(
            {"status": 500, "json": stripe_error("api_error", "Something went wrong on Stripe's end.")},
            ProviderUnavailableError,
            3,
            None,
            id="500-retried",
        ),
        pytest.param({"status": 502, "body": "<html>Bad Gateway</html>"}, ProviderUnavailableError, 3, None, id="502"),
        pytest.param(
            {"status": 409, "json": stripe_error("invalid_request_error", "Another request is in progress.")},
            ProviderUnavailableError,
            3,
            None,
            id="409-retried",
        ),
        pytest.param(
            {"status": 429, "json": stripe_error("invalid_request_error", "Too many requests.", code="rate_limit")},
            ProviderUnavailableError,
            1,
            None,
            id="429",
        ),
        pytest.param(
            {"body": requests.ConnectionError("connection refused")},
            ProviderUnavailableError,
            3,
            None,
            id="connection-error-retried",
        ),
        pytest.param(
            {"body": requests.ReadTimeout("read timed out")}, ProviderUnavailableError, 3, None, id="timeout-retried"
        ),
        pytest.param({"status": 200, "body": "not json"}, ProviderUnavailableError, 1, None, id="200-not-json"),
        pytest.param(
            {
                "status": 400,
                "json": stripe_error(
                    "idempotency_error", "Keys for idempotent requests can only be used with the same parameters."
                ),
            },
            ProviderUnavailableError,
            1,
            None,
            id="idempotency-error",
        ),
        pytest.param(
            {
                "status": 400,
                "json": stripe_error("invalid_request_error", "Invalid currency: xyz.", param="currency"),
            },
            ProviderDeclinedError,
            1,
            "Invalid currency: xyz.",
            id="400-invalid-request",
        ),
        pytest.param(
            {"status": 402, "json": stripe_error("card_error", "Your card was declined.", code="card_declined")},
            ProviderDeclinedError,
            1,
            "Your card was declined.",
            id="402-card-error",
        ),
        pytest.param(
            {"status": 401, "json": stripe_error("invalid_request_error", "Invalid API Key provided: sk_test_***123")},
            ProviderNotConfiguredError,
            1,
            None,
            id="401",
        ),
        pytest.param(
            {"status": 403, "json": stripe_error("invalid_request_error", "The provided key does not have access.")},
            ProviderNotConfiguredError,
            1,
            None,
            id="403",
        ),
    ],
)
def test_http_failures_become_provider_errors(
    answer: dict[str, Any],
    expected: type[Exception],
    attempts: int,
    detail: str | None,
    api: responses.RequestsMock,
    provider: StripeProvider,
    payment: Payment,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.add(responses.POST, f"{API}/payment_intents", **answer)

    with pytest.raises(expected) as excinfo:
        provider.create_payment(payment=payment, customer=None)

    if detail is not None:
        assert str(excinfo.value) == detail
    assert excinfo.value.__cause__ is None  # the library/requests exception (auth header) is not chained
    assert excinfo.value.__suppress_context__ is True
    assert SECRET_KEY not in str(excinfo.value)
    assert SECRET_KEY not in caplog.text
    assert len(api.calls) == attempts
    assert {idempotency_key(call) for call in api.calls} == {f"payment-{PAYMENT_UUID}"}


def test_a_connection_error_on_fetch_is_unavailable(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment
) -> None:
    api.get(f"{API}/payment_intents/{PI_ID}", body=requests.ConnectionError("connection reset by peer"))

    with pytest.raises(ProviderUnavailableError):
        provider.fetch_payment(payment=payment)

    assert len(api.calls) == 3  # the first attempt and the library's two retries


# ---------------------------------------------------------------------------------------- refund


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": "succeeded"}, ProviderRefund(provider_refund_id="re_3PQ9a1", status=RefundStatus.SUCCEEDED)),
        ({"status": "pending"}, ProviderRefund(provider_refund_id="re_3PQ9a1", status=RefundStatus.PENDING)),
        ({"status": "requires_action"}, ProviderRefund(provider_refund_id="re_3PQ9a1", status=RefundStatus.PENDING)),
        (
            {"status": "failed", "failure_reason": "expired_or_canceled_card"},
            ProviderRefund(
                provider_refund_id="re_3PQ9a1",
                status=RefundStatus.FAILED,
                failure_reason="Stripe reported the refund as failed (expired_or_canceled_card).",
            ),
        ),
        (
            {"status": "canceled"},
            ProviderRefund(
                provider_refund_id="re_3PQ9a1",
                status=RefundStatus.FAILED,
                failure_reason="Stripe reported the refund as canceled.",
            ),
        ),
    ],
)
def test_refund_refunds_the_intent_idempotently_and_maps_the_status(
    answer: dict[str, Any],
    expected: ProviderRefund,
    api: responses.RequestsMock,
    provider: StripeProvider,
    payment: Payment,
    refund: Refund,
) -> None:
    api.post(
        f"{API}/refunds",
        json={"id": "re_3PQ9a1", "object": "refund", "amount": 1000, "payment_intent": PI_ID, **answer},
    )

    assert provider.refund(payment=payment, refund=refund) == expected

    (call,) = api.calls
    assert call.request.url == f"{API}/refunds"
    assert idempotency_key(call) == f"refund-{REFUND_UUID}"
    assert form(call) == {
        "payment_intent": PI_ID,
        "amount": "1000",
        "metadata[refund_id]": str(REFUND_UUID),
        "metadata[payment_id]": str(PAYMENT_UUID),
    }


def test_a_refund_whose_first_attempt_loses_the_connection_is_retried_with_the_same_key(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, refund: Refund
) -> None:
    api.post(f"{API}/refunds", body=requests.ConnectionError("connection reset by peer"))
    api.post(f"{API}/refunds", json={"id": "re_3PQ9a1", "object": "refund", "status": "succeeded"})

    result = provider.refund(payment=payment, refund=refund)

    assert result == ProviderRefund(provider_refund_id="re_3PQ9a1", status=RefundStatus.SUCCEEDED)
    first, second = api.calls
    assert idempotency_key(first) == idempotency_key(second) == f"refund-{REFUND_UUID}"
    assert first.request.body == second.request.body


def test_a_refund_stripe_refuses_is_declined_with_its_message(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, refund: Refund
) -> None:
    api.post(
        f"{API}/refunds",
        status=400,
        json=stripe_error(
            "invalid_request_error",
            "Charge ch_3PQ8x2Lr0Zx1ab has already been refunded.",
            code="charge_already_refunded",
        ),
    )

    with pytest.raises(ProviderDeclinedError) as excinfo:
        provider.refund(payment=payment, refund=refund)

    assert str(excinfo.value) == "Charge ch_3PQ8x2Lr0Zx1ab has already been refunded."
    assert len(api.calls) == 1


def test_a_refund_of_a_payment_without_an_intent_is_declined_without_calling_stripe(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, refund: Refund
) -> None:
    payment.provider_payment_id = ""
    with pytest.raises(ProviderDeclinedError):
        provider.refund(payment=payment, refund=refund)
    assert len(api.calls) == 0


# ---------------------------------------------------------------------------------------- transfer


def test_transfer_pays_the_connected_account_idempotently(
    api: responses.RequestsMock, provider: StripeProvider, payout: Payout
) -> None:
    api.post(f"{API}/transfers", json={"id": "tr_1PQ9b7", "object": "transfer", "amount": 40000})

    assert provider.transfer(payout=payout) == "tr_1PQ9b7"

    (call,) = api.calls
    assert call.request.url == f"{API}/transfers"
    assert idempotency_key(call) == f"payout-{PAYOUT_UUID}"
    assert form(call) == {
        "amount": "40000",
        "currency": "usd",
        "destination": "acct_1Owner0001",
        "metadata[payout_id]": str(PAYOUT_UUID),
    }


def test_a_transfer_stripe_refuses_is_declined(
    api: responses.RequestsMock, provider: StripeProvider, payout: Payout
) -> None:
    api.post(
        f"{API}/transfers",
        status=400,
        json=stripe_error(
            "invalid_request_error",
            "You have insufficient funds in your Stripe account.",
            code="balance_insufficient",
        ),
    )

    with pytest.raises(ProviderDeclinedError, match="insufficient funds"):
        provider.transfer(payout=payout)


# ---------------------------------------------------------------------------------------- charge_off_session

PM_URL = f"{API}/customers/{CUSTOMER_ID}/payment_methods"
CARD = {"id": "pm_1PQ9card", "object": "payment_method", "type": "card", "card": {"brand": "visa", "last4": "4242"}}


def test_charge_off_session_confirms_an_intent_with_the_saved_card(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(f"{API}/customers/search", json=search_result({"id": CUSTOMER_ID, "object": "customer", "created": 1}))
    api.get(PM_URL, json=stripe_list(PM_URL, CARD))
    api.post(
        f"{API}/payment_intents",
        json=intent("succeeded", customer=CUSTOMER_ID, latest_charge=charge(brand="mastercard", last4="4444")),
    )

    state = provider.charge_off_session(payment=payment, customer=driver)

    assert state == ProviderPayment(
        provider_payment_id=PI_ID,
        status=PaymentStatus.SUCCEEDED,
        card_brand="mastercard",
        card_last4="4444",
        amount=4450,
        currency="USD",
    )
    _, methods, create = api.calls
    assert methods.request.url == f"{PM_URL}?type=card&limit=1"
    assert idempotency_key(create) == f"payment-{PAYMENT_UUID}"
    assert form(create) == {
        "amount": "4450",
        "currency": "usd",
        "customer": CUSTOMER_ID,
        "payment_method": "pm_1PQ9card",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "off_session": "true",
        "confirm": "true",
        "metadata[payment_id]": str(PAYMENT_UUID),
        "metadata[organization_id]": str(ORG_UUID),
        "metadata[booking_id]": str(BOOKING_UUID),
        "expand[0]": "latest_charge",
    }


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Your card was declined.", "card_declined"),
        ("This payment requires the customer to authenticate.", "authentication_required"),
    ],
)
def test_charge_off_session_with_a_declined_card_is_declined_with_stripes_message(
    message: str, code: str, api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(f"{API}/customers/search", json=search_result({"id": CUSTOMER_ID, "object": "customer", "created": 1}))
    api.get(PM_URL, json=stripe_list(PM_URL, CARD))
    api.post(
        f"{API}/payment_intents",
        status=402,
        json=stripe_error("card_error", message, code=code, payment_intent=intent("requires_payment_method")),
    )

    with pytest.raises(ProviderDeclinedError) as excinfo:
        provider.charge_off_session(payment=payment, customer=driver)

    assert str(excinfo.value) == message
    assert [call.request.method for call in api.calls] == ["GET", "GET", "POST"]  # a decline is not retried


def test_charge_off_session_for_a_driver_without_a_customer_charges_nothing(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(f"{API}/customers/search", json=search_result())

    with pytest.raises(ProviderDeclinedError) as excinfo:
        provider.charge_off_session(payment=payment, customer=driver)

    assert str(excinfo.value) == "No saved payment method."
    assert [call.request.method for call in api.calls] == ["GET"]  # no customer is created either


def test_charge_off_session_without_a_saved_card_charges_nothing(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(f"{API}/customers/search", json=search_result({"id": CUSTOMER_ID, "object": "customer", "created": 1}))
    api.get(PM_URL, json=stripe_list(PM_URL))

    with pytest.raises(ProviderDeclinedError) as excinfo:
        provider.charge_off_session(payment=payment, customer=driver)

    assert str(excinfo.value) == "No saved payment method."
    assert [call.request.method for call in api.calls] == ["GET", "GET"]


def test_charge_off_session_when_stripe_is_unreachable_is_unavailable(
    api: responses.RequestsMock, provider: StripeProvider, payment: Payment, driver: User
) -> None:
    api.get(f"{API}/customers/search", body=requests.ConnectionError("connection refused"))

    with pytest.raises(ProviderUnavailableError):
        provider.charge_off_session(payment=payment, customer=driver)


# ---------------------------------------------------------------------------------------- webhooks: authenticity

SUCCEEDED = encode(event("payment_intent.succeeded", intent("succeeded")))
GOOD = sign(SUCCEEDED)


def _with(header: str, body: bytes = SUCCEEDED) -> tuple[bytes, dict[str, str]]:
    return body, {"Stripe-Signature": header}


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(body)


FORGED: dict[str, tuple[bytes, dict[str, str]]] = {
    "header-missing": (SUCCEEDED, {}),
    "header-missing-other-headers-present": (SUCCEEDED, {"Content-Type": "application/json"}),
    "header-empty": _with(""),
    "garbage": _with("garbage"),
    "empty-values": _with("t=,v1="),
    "no-timestamp": _with(f"v1={GOOD}"),
    "v1-abc-only": _with("v1=abc"),
    "no-v1": _with(f"t={NOW}"),
    "only-v0": _with(f"t={NOW},v0={GOOD}"),
    "non-ascii": _with("t=123,v1=é…"),
    "non-ascii-after-valid-signature": _with(f"t={NOW},v1={GOOD},v1=é"),
    "non-ascii-digits-timestamp": _with(f"t=١٧٦٠٠٠٠٠٠٠,v1={GOOD}"),
    "timestamp-not-an-integer": _with(f"t={NOW}.0,v1={GOOD}"),
    "timestamp-with-underscores": _with(f"t=1_760_000_000,v1={GOOD}"),
    "timestamp-with-space": _with(f"t= {NOW},v1={GOOD}"),
    "timestamp-negative": _with(f"t=-{NOW},v1={GOOD}"),
    "two-timestamps": _with(f"t={NOW},t={NOW - 1000},v1={GOOD}"),
    "control-character": _with(f"t={NOW},v1={GOOD}\n"),
    "too-long": _with(f"t={NOW}," + ",".join([f"v1={GOOD}"] * 100)),
    "wrong-secret": (SUCCEEDED, signed(SUCCEEDED, secret="whsec_another_secret")),
    "api-key-as-secret": (SUCCEEDED, signed(SUCCEEDED, secret=SECRET_KEY)),
    "signature-for-another-timestamp": _with(f"t={NOW},v1={sign(SUCCEEDED, NOW - 1)}"),
    "signature-upper-case": _with(f"t={NOW},v1={GOOD.upper()}"),
    "signature-truncated": _with(f"t={NOW},v1={GOOD[:-1]}"),
    "tampered-body": (SUCCEEDED.replace(b"4450", b"4451"), signed(SUCCEEDED)),
    "body-with-trailing-newline": (SUCCEEDED + b"\n", signed(SUCCEEDED)),
    "stale-301s": (SUCCEEDED, signed(SUCCEEDED, timestamp=NOW - 301)),
    "future-301s": (SUCCEEDED, signed(SUCCEEDED, timestamp=NOW + 301)),
    "far-future": (SUCCEEDED, signed(SUCCEEDED, timestamp=NOW + 10**9)),
    "timestamp-zero": (SUCCEEDED, signed(SUCCEEDED, timestamp=0)),
    "conflicting-headers": (
        SUCCEEDED,
        {"Stripe-Signature": f"t={NOW},v1={GOOD}", "stripe-signature": f"t={NOW},v1={'0' * 64}"},
    ),
    "body-not-utf8": _signed(b"\xff\xfe"),
    "body-not-utf8-inside-json": _signed(b'{"id": "evt_1", "type": "payment_intent.succeeded", "x": "\xff"}'),
    "body-empty": _signed(b""),
    "body-not-json": _signed(b"id=evt_1&type=payment_intent.succeeded"),
    "json-array": _signed(b'[{"id": "evt_1", "type": "payment_intent.succeeded"}]'),
    "json-string": _signed(b'"event"'),
    "json-object-not-an-event": _signed(b'{"object": "list", "data": []}'),
    "json-without-type": _signed(b'{"id": "evt_1", "object": "event"}'),
    "json-without-id": _signed(b'{"type": "payment_intent.succeeded", "object": "event"}'),
    "json-id-not-a-string": _signed(b'{"id": 42, "type": "payment_intent.succeeded"}'),
    "json-type-empty": _signed(b'{"id": "evt_1", "type": ""}'),
    "json-id-too-long": _signed(encode({"id": "e" * 256, "type": "payment_intent.succeeded"})),
    "json-nan": _signed(b'{"id": "evt_1", "type": "payment_intent.succeeded", "amount": NaN}'),
    "json-nested-too-deep": _signed(b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(("body", "headers"), list(FORGED.values()), ids=list(FORGED))
def test_a_webhook_that_cannot_be_trusted_is_rejected(
    body: bytes, headers: dict[str, str], provider: StripeProvider
) -> None:
    with pytest.raises(WebhookSignatureError):
        provider.parse_webhook(body=body, headers=headers)


GENUINE: dict[str, Any] = {
    "exact": {"Stripe-Signature": f"t={NOW},v1={GOOD}"},
    "several-v1-the-last-valid": {"Stripe-Signature": f"t={NOW},v1={sign(SUCCEEDED, secret='whsec_old')},v1={GOOD}"},
    "several-v1-the-first-valid": {"Stripe-Signature": f"t={NOW},v1={GOOD},v1={'0' * 64}"},
    "with-a-v0-test-signature": {"Stripe-Signature": f"t={NOW},v1={GOOD},v0={'6ffbb59b' * 8}"},
    "299s-old": signed(SUCCEEDED, timestamp=NOW - 299),
    "299s-ahead": signed(SUCCEEDED, timestamp=NOW + 299),
    "300s-old": signed(SUCCEEDED, timestamp=NOW - 300),
    "300s-ahead": signed(SUCCEEDED, timestamp=NOW + 300),
    "lower-case-header": {"stripe-signature": f"t={NOW},v1={GOOD}"},
    "upper-case-header": {"STRIPE-SIGNATURE": f"t={NOW},v1={GOOD}"},
    "same-value-under-two-spellings": {
        "Stripe-Signature": f"t={NOW},v1={GOOD}",
        "stripe-signature": f"t={NOW},v1={GOOD}",
    },
    "django-request-headers": HttpHeaders({"HTTP_STRIPE_SIGNATURE": f"t={NOW},v1={GOOD}"}),
}


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("headers", list(GENUINE.values()), ids=list(GENUINE))
def test_a_genuine_webhook_is_accepted(headers: Any, provider: StripeProvider) -> None:
    notice = provider.parse_webhook(body=SUCCEEDED, headers=headers)

    assert notice == WebhookNotice(
        event_id=EVENT_ID,
        type="payment_intent.succeeded",
        payload=json.loads(SUCCEEDED),
        payment=ProviderPayment(provider_payment_id=PI_ID, status=PaymentStatus.SUCCEEDED, amount=4450, currency="USD"),
        our_payment_id=str(PAYMENT_UUID),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(max_size=200), body=st.binary(max_size=200))
def test_no_header_or_body_raises_anything_but_a_signature_error(header: str, body: bytes) -> None:
    provider = StripeProvider(CONFIG)
    with pytest.raises(WebhookSignatureError):
        provider.parse_webhook(body=body, headers={"Stripe-Signature": header})


# ---------------------------------------------------------------------------------------- webhooks: mapping


def _parse(provider: StripeProvider, payload: dict[str, Any]) -> WebhookNotice:
    body = encode(payload)
    return provider.parse_webhook(body=body, headers=signed(body))


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        (
            "payment_intent.succeeded",
            intent("succeeded", latest_charge="ch_3PQ8x2Lr0Zx1ab"),
            ProviderPayment(provider_payment_id=PI_ID, status=PaymentStatus.SUCCEEDED, amount=4450, currency="USD"),
        ),
        (
            "payment_intent.processing",
            intent("processing"),
            ProviderPayment(provider_payment_id=PI_ID, status=PaymentStatus.PROCESSING, amount=4450, currency="USD"),
        ),
        (
            "payment_intent.requires_action",
            intent("requires_action"),
            ProviderPayment(
                provider_payment_id=PI_ID, status=PaymentStatus.REQUIRES_ACTION, amount=4450, currency="USD"
            ),
        ),
        (
            "payment_intent.canceled",
            intent("canceled", cancellation_reason="abandoned"),
            ProviderPayment(provider_payment_id=PI_ID, status=PaymentStatus.CANCELLED, amount=4450, currency="USD"),
        ),
        (
            "payment_intent.payment_failed",
            intent("requires_payment_method", last_payment_error=DECLINE),
            ProviderPayment(
                provider_payment_id=PI_ID,
                status=PaymentStatus.FAILED,
                failure_reason="Your card has insufficient funds.",
                amount=4450,
                currency="USD",
            ),
        ),
        (
            "payment_intent.succeeded",
            intent("succeeded", amount=9999, currency="eur", latest_charge=charge()),
            ProviderPayment(
                provider_payment_id=PI_ID,
                status=PaymentStatus.SUCCEEDED,
                card_brand="visa",
                card_last4="4242",
                amount=9999,
                currency="EUR",
            ),
        ),
    ],
    ids=["succeeded", "processing", "requires-action", "canceled", "payment-failed", "other-amount-with-card"],
)
def test_a_payment_intent_event_becomes_a_payment_notice(
    event_type: str, obj: dict[str, Any], expected: ProviderPayment, provider: StripeProvider
) -> None:
    payload = event(event_type, obj)

    notice = _parse(provider, payload)

    assert notice == WebhookNotice(
        event_id=EVENT_ID, type=event_type, payload=payload, payment=expected, our_payment_id=str(PAYMENT_UUID)
    )


@pytest.mark.usefixtures("clock")
def test_a_payment_intent_event_without_our_metadata_still_names_the_intent(provider: StripeProvider) -> None:
    notice = _parse(provider, event("payment_intent.succeeded", intent("succeeded", metadata={})))

    assert notice.payment is not None
    assert (notice.payment.provider_payment_id, notice.payment.status) == (PI_ID, PaymentStatus.SUCCEEDED)
    assert notice.our_payment_id is None


def refund_object(status: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "re_3PQ9a1",
        "object": "refund",
        "amount": 1000,
        "currency": "usd",
        "charge": "ch_3PQ8x2Lr0Zx1ab",
        "payment_intent": PI_ID,
        "status": status,
        "failure_reason": None,
        "metadata": {"refund_id": str(REFUND_UUID), "payment_id": str(PAYMENT_UUID)},
    }
    body.update(overrides)
    return body


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        ("refund.created", refund_object("pending"), ProviderRefund("re_3PQ9a1", RefundStatus.PENDING)),
        ("refund.updated", refund_object("succeeded"), ProviderRefund("re_3PQ9a1", RefundStatus.SUCCEEDED)),
        ("refund.updated", refund_object("requires_action"), ProviderRefund("re_3PQ9a1", RefundStatus.PENDING)),
        (
            "refund.updated",
            refund_object("canceled"),
            ProviderRefund("re_3PQ9a1", RefundStatus.FAILED, "Stripe reported the refund as canceled."),
        ),
        (
            "refund.failed",
            refund_object("failed", failure_reason="expired_or_canceled_card"),
            ProviderRefund(
                "re_3PQ9a1", RefundStatus.FAILED, "Stripe reported the refund as failed (expired_or_canceled_card)."
            ),
        ),
        ("charge.refund.updated", refund_object("succeeded"), ProviderRefund("re_3PQ9a1", RefundStatus.SUCCEEDED)),
    ],
    ids=["created-pending", "updated-succeeded", "updated-requires-action", "updated-canceled", "failed", "charge"],
)
def test_a_refund_event_becomes_a_refund_notice(
    event_type: str, obj: dict[str, Any], expected: ProviderRefund, provider: StripeProvider
) -> None:
    payload = event(event_type, obj)

    notice = _parse(provider, payload)

    assert notice == WebhookNotice(
        event_id=EVENT_ID,
        type=event_type,
        payload=payload,
        refund=expected,
        extra={"refund_id": str(REFUND_UUID), "provider_payment_id": PI_ID},
    )


@pytest.mark.usefixtures("clock")
def test_a_refund_event_without_our_metadata_still_names_the_stripe_refund(provider: StripeProvider) -> None:
    notice = _parse(provider, event("refund.updated", refund_object("succeeded", metadata={}, payment_intent=None)))

    assert notice.refund == ProviderRefund(provider_refund_id="re_3PQ9a1", status=RefundStatus.SUCCEEDED)
    assert notice.extra == {"refund_id": None, "provider_payment_id": None}
    assert notice.payment is None


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(event("charge.succeeded", charge()), id="charge-succeeded"),
        pytest.param(event("customer.created", {"id": CUSTOMER_ID, "object": "customer"}), id="customer"),
        pytest.param(event("transfer.created", {"id": "tr_1PQ9b7", "object": "transfer"}), id="transfer"),
        pytest.param(event("payment_intent.created", intent("requires_payment_method")), id="intent-created"),
        pytest.param(event("payment_intent.succeeded", intent("succeeded", id=None)), id="intent-without-id"),
        pytest.param(event("payment_intent.succeeded", "not an object"), id="intent-not-an-object"),
        pytest.param({"id": EVENT_ID, "type": "refund.updated"}, id="refund-without-data"),
        pytest.param(event("refund.updated", refund_object("succeeded", id=None, metadata={})), id="refund-no-ids"),
    ],
)
def test_an_event_we_do_not_act_on_has_no_payment_or_refund(payload: dict[str, Any], provider: StripeProvider) -> None:
    notice = _parse(provider, payload)

    assert notice == WebhookNotice(event_id=EVENT_ID, type=payload["type"], payload=payload)
