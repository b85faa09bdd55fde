"""The Razorpay provider on its own: outgoing HTTP (mocked at the transport with ``responses``, so an
unregistered call fails the test), Checkout and webhook signatures computed with Razorpay's real
scheme (hex HMAC-SHA256), status mapping and error mapping. No database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import pytest
import requests
import responses
from django.http.request import HttpHeaders

from payments.models import Payment, PaymentStatus, Payout, Refund, RefundReason, RefundStatus
from payments.providers import provider_get
from payments.providers.base import (
    ProviderDeclinedError,
    ProviderNotConfiguredError,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailableError,
    WebhookNotice,
    WebhookSignatureError,
)
from payments.providers.razorpay import RazorpayProvider

KEY_ID = "rzp_test_key"
KEY_SECRET = "rzp_test_secret"
WEBHOOK_SECRET = "rzp_webhook_secret"
CONFIG = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET, "api_base": ""}
API = "https://api.razorpay.com/v1"
BASIC_AUTH = "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()

PAYMENT_UUID = uuid.UUID("6f1c2b4e-8a3d-4c5e-9f70-112233445566")
ORG_UUID = uuid.UUID("0a0b0c0d-0e0f-4010-8111-213141516171")
BOOKING_UUID = uuid.UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
REFUND_UUID = uuid.UUID("12345678-1234-4234-8234-123456789abc")
PAYOUT_UUID = uuid.UUID("fedcba98-7654-4321-8fed-cba987654321")
ORDER_ID = "order_PQ8x2Lr0Zx1ab"
PAY_ID = "pay_PQ8yB8uXcVq2e"
EVENT_ID = "evt_PQ90kGv5hWb7Lm"


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """The mocked transport: any request not registered raises, every registered one must be made."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def provider() -> RazorpayProvider:
    return RazorpayProvider(CONFIG)


@pytest.fixture
def payment() -> Payment:
    return Payment(
        id=PAYMENT_UUID,
        organization_id=ORG_UUID,
        booking_id=BOOKING_UUID,
        amount=44500,
        owner_amount=40000,
        platform_amount=4500,
        currency="INR",
        provider="razorpay",
        provider_payment_id=ORDER_ID,
        status=PaymentStatus.SUCCEEDED,
    )


@pytest.fixture
def refund(payment: Payment) -> Refund:
    return Refund(
        id=REFUND_UUID,
        payment=payment,
        amount=10000,
        owner_amount=9000,
        platform_amount=1000,
        reason=RefundReason.CANCELLATION,
        status=RefundStatus.PENDING,
    )


@pytest.fixture
def payout() -> Payout:
    return Payout(
        id=PAYOUT_UUID,
        organization_id=ORG_UUID,
        currency="INR",
        amount=40000,
        period_end=datetime(2025, 3, 1, tzinfo=UTC),
        provider="razorpay",
        account_id="acc_Owner0001",
    )


# ---------------------------------------------------------------------------------------- helpers


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def checkout_signature(order_id: str = ORDER_ID, payment_id: str = PAY_ID, secret: str = KEY_SECRET) -> str:
    return hmac_hex(secret, f"{order_id}|{payment_id}".encode())


def payment_entity(status: str, **overrides: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": PAY_ID,
        "entity": "payment",
        "amount": 44500,
        "currency": "INR",
        "status": status,
        "order_id": ORDER_ID,
        "method": "card",
        "captured": status in ("captured", "refunded"),
        "notes": {"payment_id": str(PAYMENT_UUID)},
        "error_code": None,
        "error_description": None,
        "card_id": "card_PQ8yBAbcd",
        "card": {"id": "card_PQ8yBAbcd", "entity": "card", "last4": "1111", "network": "Visa", "type": "credit"},
        "created_at": 1_740_000_000,
    }
    entity.update(overrides)
    return entity


def collection(*items: dict[str, Any]) -> dict[str, Any]:
    return {"entity": "collection", "count": len(items), "items": list(items)}


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def event(name: str, **entities: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity": "event",
        "account_id": "acc_Platform01",
        "event": name,
        "contains": list(entities),
        "payload": {key: {"entity": value} for key, value in entities.items()},
        "created_at": 1_740_000_100,
    }


def delivery(body: bytes, *, secret: str = WEBHOOK_SECRET, event_id: str = EVENT_ID) -> dict[str, str]:
    return {"X-Razorpay-Signature": hmac_hex(secret, body), "X-Razorpay-Event-Id": event_id}


# ---------------------------------------------------------------------------------------- configuration


def test_the_registry_builds_the_configured_provider() -> None:
    provider = provider_get("razorpay")
    assert isinstance(provider, RazorpayProvider)
    assert (provider.name, provider.label, provider.supports_transfers, provider.supports_off_session) == (
        "razorpay",
        "Razorpay",
        True,
        False,
    )


@pytest.mark.parametrize("missing", ["key_id", "key_secret", "webhook_secret"])
def test_a_missing_key_leaves_the_provider_unconfigured_and_it_refuses_every_call(
    missing: str, api: responses.RequestsMock, payment: Payment, refund: Refund, payout: Payout
) -> None:
    provider = RazorpayProvider({**CONFIG, missing: ""})

    assert provider.is_configured() is False
    with pytest.raises(ProviderNotConfiguredError):
        provider.ensure_configured()
    with pytest.raises(ProviderNotConfiguredError):
        provider.create_payment(payment=payment, customer=None)
    with pytest.raises(ProviderNotConfiguredError):
        provider.fetch_payment(payment=payment)
    with pytest.raises(ProviderNotConfiguredError):
        provider.refund(payment=payment, refund=refund)
    with pytest.raises(ProviderNotConfiguredError):
        provider.transfer(payout=payout)
    assert len(api.calls) == 0


def test_an_empty_key_secret_never_validates_a_checkout_signature(api: responses.RequestsMock) -> None:
    provider = RazorpayProvider({**CONFIG, "key_secret": ""})
    with pytest.raises(ProviderNotConfiguredError):
        provider.verify_checkout(order_id=ORDER_ID, payment_id=PAY_ID, signature=checkout_signature(secret=""))
    assert len(api.calls) == 0


def test_an_empty_webhook_secret_never_validates_a_webhook() -> None:
    provider = RazorpayProvider({**CONFIG, "webhook_secret": ""})
    body = json.dumps(event("payment.captured", payment=payment_entity("captured"))).encode()
    with pytest.raises(WebhookSignatureError):
        provider.parse_webhook(body=body, headers=delivery(body, secret=""))


def test_the_secrets_are_not_in_the_repr(provider: RazorpayProvider) -> None:
    assert KEY_SECRET not in repr(provider)
    assert WEBHOOK_SECRET not in repr(provider)


# ---------------------------------------------------------------------------------------- create_payment


def test_create_payment_creates_an_auto_capture_order(
    api: responses.RequestsMock, provider: RazorpayProvider, payment: Payment
) -> None:
    api.post(f"{API}/orders", json={"id": ORDER_ID, "entity": "order", "amount": 44500, "status": "created"})

    checkout = provider.create_payment(payment=payment, customer=None)

    (call,) = api.calls
    assert call.request.url == f"{API}/orders"
    assert call.request.headers["Authorization"] == BASIC_AUTH
    assert sent_json(call) == {
        "amount": 44500,
        "currency": "INR",
        "receipt": str(PAYMENT_UUID),
        "notes": {"payment_id": str(PAYMENT_UUID), "organization_id": str(ORG_UUID), "booking_id": str(BOOKING_UUID)},
        "payment_capture": 1,
    }
    assert checkout.provider_payment_id == ORDER_ID
    assert checkout.status == PaymentStatus.CREATED
    assert checkout.client_data == {"order_id": ORDER_ID, "key_id": KEY_ID, "amount": 44500, "currency": "INR"}
    assert KEY_SECRET not in json.dumps(checkout.client_data)


def test_an_order_without_booking_has_no_booking_note(
    api: responses.RequestsMock, provider: RazorpayProvider, payment: Payment
) -> None:
    payment.booking_id = None
    api.post(f"{API}/orders", json={"id": ORDER_ID})

    provider.create_payment(payment=payment, customer=None)

    assert sent_json(api.calls[0])["notes"] == {"payment_id": str(PAYMENT_UUID), "organization_id": str(ORG_UUID)}


def test_api_base_points_the_client_at_another_host(api: responses.RequestsMock, payment: Payment) -> None:
    provider = RazorpayProvider({**CONFIG, "api_base": "http://razorpay-mock.test:9000/"})
    api.post("http://razorpay-mock.test:9000/v1/orders", json={"id": ORDER_ID})

    assert provider.create_payment(payment=payment, customer=None).provider_payment_id == ORDER_ID
    assert api.calls[0].request.url == "http://razorpay-mock.test:9000/v1/orders"


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("answer", "expected", "detail"),
    [
        (
            {"status": 500, "json": {"error": {"code": "SERVER_ERROR", "description": "We are facing some trouble"}}},
            ProviderUnavailableError,
            None,
        ),
        ({"status": 502, "body": "<html>Bad Gateway</html>"}, ProviderUnavailableError, None),
        (
            {"status": 503, "json": {"error": {"code": "BAD_REQUEST_ERROR", "description": "x"}}},
            ProviderUnavailableError,
            None,
        ),
        (
            {"status": 429, "json": {"error": {"code": "BAD_REQUEST_ERROR", "description": "Too many requests"}}},
            ProviderUnavailableError,
            None,
        ),
        ({"body": requests.ConnectionError("connection refused")}, ProviderUnavailableError, None),
        ({"body": requests.ReadTimeout("read timed out")}, ProviderUnavailableError, None),
        ({"status": 200, "body": "not json"}, ProviderUnavailableError, None),
        (
            {
                "status": 400,
                "json": {"error": {"code": "BAD_REQUEST_ERROR", "description": "Currency is not supported"}},
            },
            ProviderDeclinedError,
            "Currency is not supported",
        ),
        (
            {"status": 401, "json": {"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}},
            ProviderNotConfiguredError,
            None,
        ),
    ],
    ids=["500", "502-html", "503-bad-request-code", "429", "connection-error", "timeout", "200-not-json", "400", "401"],
)
def test_http_failures_become_provider_errors(
    answer: dict[str, Any],
    expected: type[Exception],
    detail: str | None,
    api: responses.RequestsMock,
    provider: RazorpayProvider,
    payment: Payment,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.add(responses.POST, f"{API}/orders", **answer)

    with pytest.raises(expected) as excinfo:
        provider.create_payment(payment=payment, customer=None)

    if detail is not None:
        assert str(excinfo.value) == detail
    assert excinfo.value.__cause__ is None  # the requests exception (with the auth header) is not chained
    assert KEY_SECRET not in caplog.text


# ---------------------------------------------------------------------------------------- verify_checkout


@pytest.mark.parametrize(
    ("razorpay_status", "expected", "failure_reason"),
    [
        ("created", PaymentStatus.CREATED, ""),
        ("authorized", PaymentStatus.PROCESSING, ""),
        ("captured", PaymentStatus.SUCCEEDED, ""),
        ("refunded", PaymentStatus.SUCCEEDED, ""),
        ("failed", PaymentStatus.FAILED, "Payment was declined by the bank"),
        ("something_new", None, ""),
    ],
)
def test_verify_checkout_with_a_valid_signature_fetches_the_payment(
    razorpay_status: str,
    expected: str | None,
    failure_reason: str,
    api: responses.RequestsMock,
    provider: RazorpayProvider,
) -> None:
    api.get(
        f"{API}/payments/{PAY_ID}",
        json=payment_entity(razorpay_status, error_description="Payment was declined by the bank"),
    )

    state = provider.verify_checkout(order_id=ORDER_ID, payment_id=PAY_ID, signature=checkout_signature())

    assert state == ProviderPayment(
        provider_payment_id=ORDER_ID,
        status=expected,
        failure_reason=failure_reason,
        card_brand="Visa",
        card_last4="1111",
        amount=44500,
        currency="INR",
    )
    (call,) = api.calls
    assert call.request.url == f"{API}/payments/{PAY_ID}?expand%5B%5D=card"
    assert call.request.headers["Authorization"] == BASIC_AUTH


def test_verify_checkout_without_card_details(api: responses.RequestsMock, provider: RazorpayProvider) -> None:
    api.get(f"{API}/payments/{PAY_ID}", json=payment_entity("captured", method="upi", card=None, card_id=None))

    state = provider.verify_checkout(order_id=ORDER_ID, payment_id=PAY_ID, signature=checkout_signature())

    assert (state.status, state.card_brand, state.card_last4) == (PaymentStatus.SUCCEEDED, "", "")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(checkout_signature(secret="another_secret"), id="other-secret"),
        pytest.param(checkout_signature(order_id="order_Other000001"), id="other-order"),
        pytest.param(checkout_signature(payment_id="pay_Other0000001"), id="other-payment"),
        pytest.param(hmac_hex(KEY_SECRET, f"{PAY_ID}|{ORDER_ID}".encode()), id="swapped"),
        pytest.param(checkout_signature()[:-1], id="truncated"),
        pytest.param("", id="empty"),
        pytest.param("é" * 64, id="non-ascii"),
        pytest.param("z" * 64, id="not-hex"),
    ],
)
def test_verify_checkout_refuses_a_bad_signature_without_calling_razorpay(
    signature: str, api: responses.RequestsMock, provider: RazorpayProvider
) -> None:
    with pytest.raises(ProviderDeclinedError) as excinfo:
        provider.verify_checkout(order_id=ORDER_ID, payment_id=PAY_ID, signature=signature)

    error = excinfo.value
    assert (error.code, error.attr, error.http_status) == (
        "invalid_signature",
        "razorpay_signature",
        HTTPStatus.BAD_REQUEST,
    )
    assert len(api.calls) == 0


def test_verify_checkout_refuses_a_payment_of_another_order(
    api: responses.RequestsMock, provider: RazorpayProvider
) -> None:
    api.get(f"{API}/payments/{PAY_ID}", json=payment_entity("captured", order_id="order_Other000001"))

    with pytest.raises(ProviderDeclinedError) as excinfo:
        provider.verify_checkout(order_id=ORDER_ID, payment_id=PAY_ID, signature=checkout_signature())

    assert (excinfo.value.code, excinfo.value.http_status) == ("order_mismatch", HTTPStatus.BAD_REQUEST)


# ---------------------------------------------------------------------------------------- fetch_payment


@pytest.mark.parametrize(
    ("attempts", "expected", "failure_reason"),
    [
        ([], PaymentStatus.CREATED, ""),
        (["created"], PaymentStatus.CREATED, ""),
        (["failed", "created"], PaymentStatus.FAILED, "Card declined"),
        (["failed", "authorized"], PaymentStatus.PROCESSING, ""),
        (["failed", "captured", "authorized"], PaymentStatus.SUCCEEDED, ""),
        (["failed", "refunded"], PaymentStatus.SUCCEEDED, ""),
    ],
)
def test_fetch_payment_takes_the_best_attempt_of_the_order(
    attempts: list[str],
    expected: str,
    failure_reason: str,
    api: responses.RequestsMock,
    provider: RazorpayProvider,
    payment: Payment,
) -> None:
    items = [
        payment_entity(
            status, id=f"pay_Attempt{index:05d}", error_description="Card declined" if status == "failed" else None
        )
        for index, status in enumerate(attempts)
    ]
    api.get(f"{API}/orders/{ORDER_ID}/payments", json=collection(*items))

    state = provider.fetch_payment(payment=payment)

    assert state.provider_payment_id == ORDER_ID
    assert (state.status, state.failure_reason) == (expected, failure_reason)
    if attempts:
        assert (state.amount, state.currency, state.card_brand, state.card_last4) == (44500, "INR", "Visa", "1111")
    assert api.calls[0].request.headers["Authorization"] == BASIC_AUTH


# ---------------------------------------------------------------------------------------- refund


@pytest.mark.parametrize(
    ("razorpay_status", "expected"),
    [("processed", RefundStatus.SUCCEEDED), ("pending", RefundStatus.PENDING), ("failed", RefundStatus.FAILED)],
)
def test_refund_refunds_the_captured_payment_of_the_order_idempotently(
    razorpay_status: str,
    expected: str,
    api: responses.RequestsMock,
    provider: RazorpayProvider,
    payment: Payment,
    refund: Refund,
) -> None:
    api.get(
        f"{API}/orders/{ORDER_ID}/payments",
        json=collection(payment_entity("failed", id="pay_Failed000001"), payment_entity("captured")),
    )
    api.post(
        f"{API}/payments/{PAY_ID}/refund",
        json={"id": "rfnd_PQ9a1", "entity": "refund", "amount": 10000, "payment_id": PAY_ID, "status": razorpay_status},
    )

    result = provider.refund(payment=payment, refund=refund)

    assert result.provider_refund_id == "rfnd_PQ9a1"
    assert result.status == expected
    assert bool(result.failure_reason) is (expected == RefundStatus.FAILED)
    lookup, create = api.calls
    assert lookup.request.url == f"{API}/orders/{ORDER_ID}/payments"
    assert create.request.url == f"{API}/payments/{PAY_ID}/refund"
    assert create.request.headers["X-Refund-Idempotency"] == f"refund-{REFUND_UUID}"
    assert create.request.headers["Authorization"] == BASIC_AUTH
    assert sent_json(create) == {
        "amount": 10000,
        "notes": {"refund_id": str(REFUND_UUID), "payment_id": str(PAYMENT_UUID)},
    }


def test_refund_without_a_captured_payment_is_declined_and_creates_nothing(
    api: responses.RequestsMock, provider: RazorpayProvider, payment: Payment, refund: Refund
) -> None:
    api.get(
        f"{API}/orders/{ORDER_ID}/payments", json=collection(payment_entity("failed"), payment_entity("authorized"))
    )

    with pytest.raises(ProviderDeclinedError):
        provider.refund(payment=payment, refund=refund)

    assert [call.request.method for call in api.calls] == ["GET"]


def test_a_refund_retried_after_a_connection_error_sends_the_same_idempotent_request(
    api: responses.RequestsMock, provider: RazorpayProvider, payment: Payment, refund: Refund
) -> None:
    refund_url = f"{API}/payments/{PAY_ID}/refund"
    api.get(f"{API}/orders/{ORDER_ID}/payments", json=collection(payment_entity("captured")))
    api.post(refund_url, body=requests.ConnectionError("connection reset by peer"))
    # The first refund went through before the connection dropped: the payment now shows refunded.
    api.get(f"{API}/orders/{ORDER_ID}/payments", json=collection(payment_entity("refunded")))
    api.post(refund_url, json={"id": "rfnd_PQ9a1", "entity": "refund", "status": "processed"})

    with pytest.raises(ProviderUnavailableError):
        provider.refund(payment=payment, refund=refund)
    result = provider.refund(payment=payment, refund=refund)

    assert result == ProviderRefund(provider_refund_id="rfnd_PQ9a1", status=RefundStatus.SUCCEEDED)
    first, second = (call.request for call in api.calls if call.request.method == "POST")
    assert first.headers["X-Refund-Idempotency"] == second.headers["X-Refund-Idempotency"] == f"refund-{REFUND_UUID}"
    assert first.body == second.body


def test_a_refund_still_in_flight_at_razorpay_is_unavailable_not_declined(
    api: responses.RequestsMock, provider: RazorpayProvider, payment: Payment, refund: Refund
) -> None:
    api.get(f"{API}/orders/{ORDER_ID}/payments", json=collection(payment_entity("captured")))
    api.post(
        f"{API}/payments/{PAY_ID}/refund",
        status=409,
        json={"error": {"code": "BAD_REQUEST_ERROR", "description": "Request is already being processed"}},
    )

    with pytest.raises(ProviderUnavailableError):
        provider.refund(payment=payment, refund=refund)


def test_a_refund_razorpay_refuses_is_declined_with_its_reason(
    api: responses.RequestsMock, provider: RazorpayProvider, payment: Payment, refund: Refund
) -> None:
    api.get(f"{API}/orders/{ORDER_ID}/payments", json=collection(payment_entity("captured")))
    api.post(
        f"{API}/payments/{PAY_ID}/refund",
        status=400,
        json={"error": {"code": "BAD_REQUEST_ERROR", "description": "The payment has been fully refunded already"}},
    )

    with pytest.raises(ProviderDeclinedError, match="fully refunded already"):
        provider.refund(payment=payment, refund=refund)


# ---------------------------------------------------------------------------------------- transfer


def test_transfer_pays_the_linked_account_from_the_platform_balance(
    api: responses.RequestsMock, provider: RazorpayProvider, payout: Payout
) -> None:
    api.post(f"{API}/transfers", json={"id": "trf_PQ9b7", "entity": "transfer", "status": "processed"})

    assert provider.transfer(payout=payout) == "trf_PQ9b7"

    (call,) = api.calls
    assert call.request.headers["Authorization"] == BASIC_AUTH
    assert call.request.headers["X-Transfer-Idempotency"] == str(PAYOUT_UUID)
    assert sent_json(call) == {
        "account": "acc_Owner0001",
        "amount": 40000,
        "currency": "INR",
        "notes": {"payout_id": str(PAYOUT_UUID)},
    }


def test_a_transfer_razorpay_reports_failed_is_declined(
    api: responses.RequestsMock, provider: RazorpayProvider, payout: Payout
) -> None:
    api.post(
        f"{API}/transfers",
        json={
            "id": "trf_PQ9b7",
            "status": "failed",
            "error": {"description": "Account does not have sufficient balance to carry out transfer operation"},
        },
    )

    with pytest.raises(ProviderDeclinedError, match="sufficient balance"):
        provider.transfer(payout=payout)


def test_a_transfer_on_a_server_error_is_unavailable(
    api: responses.RequestsMock, provider: RazorpayProvider, payout: Payout
) -> None:
    api.post(f"{API}/transfers", status=500, json={"error": {"code": "SERVER_ERROR", "description": "oops"}})

    with pytest.raises(ProviderUnavailableError):
        provider.transfer(payout=payout)


# ---------------------------------------------------------------------------------------- webhooks: authenticity

CAPTURED = json.dumps(event("payment.captured", payment=payment_entity("captured"))).encode()
GOOD_SIGNATURE = hmac_hex(WEBHOOK_SECRET, CAPTURED)


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, delivery(body)


FORGED: dict[str, tuple[bytes, dict[str, str]]] = {
    "signature-missing": (CAPTURED, {"X-Razorpay-Event-Id": EVENT_ID}),
    "signature-empty": (CAPTURED, {"X-Razorpay-Signature": "", "X-Razorpay-Event-Id": EVENT_ID}),
    "signature-non-ascii": (
        CAPTURED,
        {"X-Razorpay-Signature": GOOD_SIGNATURE[:-1] + "é", "X-Razorpay-Event-Id": EVENT_ID},
    ),
    "signature-not-hex": (CAPTURED, {"X-Razorpay-Signature": "g" * 64, "X-Razorpay-Event-Id": EVENT_ID}),
    "signature-truncated": (CAPTURED, {"X-Razorpay-Signature": GOOD_SIGNATURE[:-2], "X-Razorpay-Event-Id": EVENT_ID}),
    "signature-base64": (
        CAPTURED,
        {
            "X-Razorpay-Signature": base64.b64encode(
                hmac.new(WEBHOOK_SECRET.encode(), CAPTURED, hashlib.sha256).digest()
            ).decode(),
            "X-Razorpay-Event-Id": EVENT_ID,
        },
    ),
    "wrong-secret": (CAPTURED, delivery(CAPTURED, secret="another_webhook_secret")),
    "key-secret-instead-of-webhook-secret": (CAPTURED, delivery(CAPTURED, secret=KEY_SECRET)),
    "tampered-body": (CAPTURED.replace(b"44500", b"44501"), delivery(CAPTURED)),
    "body-with-trailing-newline": (CAPTURED + b"\n", delivery(CAPTURED)),
    "conflicting-signature-headers": (
        CAPTURED,
        {"X-Razorpay-Signature": GOOD_SIGNATURE, "x-razorpay-signature": "0" * 64, "X-Razorpay-Event-Id": EVENT_ID},
    ),
    "event-id-missing": (CAPTURED, {"X-Razorpay-Signature": GOOD_SIGNATURE}),
    "event-id-empty": (CAPTURED, {"X-Razorpay-Signature": GOOD_SIGNATURE, "X-Razorpay-Event-Id": ""}),
    "event-id-too-long": (CAPTURED, {"X-Razorpay-Signature": GOOD_SIGNATURE, "X-Razorpay-Event-Id": "e" * 256}),
    "body-not-utf8": _signed(b'{"event": "payment.captured", "x": "\xff\xfe"}'),
    "body-not-json": _signed(b"event=payment.captured"),
    "body-empty": _signed(b""),
    "json-array": _signed(b'[{"event": "payment.captured"}]'),
    "json-without-event": _signed(b'{"entity": "event", "payload": {}}'),
    "json-event-not-a-string": _signed(b'{"event": 42, "payload": {}}'),
    "json-event-empty": _signed(b'{"event": "", "payload": {}}'),
    "json-nan": _signed(b'{"event": "payment.captured", "amount": NaN}'),
    "json-nested-too-deep": _signed(b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize(("body", "headers"), list(FORGED.values()), ids=list(FORGED))
def test_a_webhook_that_cannot_be_trusted_is_rejected(
    body: bytes, headers: dict[str, str], provider: RazorpayProvider
) -> None:
    with pytest.raises(WebhookSignatureError):
        provider.parse_webhook(body=body, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Razorpay-Signature": GOOD_SIGNATURE, "X-Razorpay-Event-Id": EVENT_ID}, id="canonical"),
        pytest.param({"x-razorpay-signature": GOOD_SIGNATURE, "x-razorpay-event-id": EVENT_ID}, id="lower-case"),
        pytest.param(
            {"X-RAZORPAY-SIGNATURE": GOOD_SIGNATURE.upper(), "X-RAZORPAY-EVENT-ID": EVENT_ID}, id="upper-case"
        ),
        pytest.param(
            HttpHeaders({"HTTP_X_RAZORPAY_SIGNATURE": GOOD_SIGNATURE, "HTTP_X_RAZORPAY_EVENT_ID": EVENT_ID}),
            id="django-request-headers",
        ),
    ],
)
def test_a_genuine_webhook_is_accepted_whatever_the_header_case(headers: Any, provider: RazorpayProvider) -> None:
    notice = provider.parse_webhook(body=CAPTURED, headers=headers)
    assert (notice.event_id, notice.type) == (EVENT_ID, "payment.captured")


# ---------------------------------------------------------------------------------------- webhooks: mapping


def _parse(provider: RazorpayProvider, payload: dict[str, Any]) -> WebhookNotice:
    body = json.dumps(payload).encode()
    return provider.parse_webhook(body=body, headers=delivery(body))


@pytest.mark.parametrize(
    ("name", "razorpay_status", "expected", "failure_reason"),
    [
        ("payment.authorized", "authorized", PaymentStatus.PROCESSING, ""),
        ("payment.captured", "captured", PaymentStatus.SUCCEEDED, ""),
        ("payment.failed", "failed", PaymentStatus.FAILED, "Payment was declined by the bank"),
    ],
)
def test_a_payment_event_becomes_a_notice_about_the_order(
    name: str, razorpay_status: str, expected: str, failure_reason: str, provider: RazorpayProvider
) -> None:
    payload = event(
        name,
        payment=payment_entity(
            razorpay_status, error_description="Payment was declined by the bank" if failure_reason else None
        ),
    )

    notice = _parse(provider, payload)

    assert notice == WebhookNotice(
        event_id=EVENT_ID,
        type=name,
        payload=payload,
        payment=ProviderPayment(
            provider_payment_id=ORDER_ID,
            status=expected,
            failure_reason=failure_reason,
            card_brand="Visa",
            card_last4="1111",
            amount=44500,
            currency="INR",
        ),
        our_payment_id=str(PAYMENT_UUID),
    )


def test_order_paid_is_a_success_of_the_order(provider: RazorpayProvider) -> None:
    order = {"id": ORDER_ID, "entity": "order", "amount": 44500, "amount_paid": 44500, "status": "paid", "notes": []}
    payload = event("order.paid", payment=payment_entity("captured", notes=[]), order=order)

    notice = _parse(provider, payload)

    assert notice.payment == ProviderPayment(
        provider_payment_id=ORDER_ID,
        status=PaymentStatus.SUCCEEDED,
        card_brand="Visa",
        card_last4="1111",
        amount=44500,
        currency="INR",
    )
    assert notice.our_payment_id is None  # Razorpay sends empty notes as []
    assert notice.refund is None


def test_order_paid_with_only_the_order_entity_uses_the_order(provider: RazorpayProvider) -> None:
    order = {
        "id": ORDER_ID,
        "entity": "order",
        "amount": 44500,
        "amount_paid": 44500,
        "currency": "INR",
        "status": "paid",
        "notes": {"payment_id": str(PAYMENT_UUID)},
    }

    notice = _parse(provider, event("order.paid", order=order))

    assert notice.payment == ProviderPayment(
        provider_payment_id=ORDER_ID, status=PaymentStatus.SUCCEEDED, amount=44500, currency="INR"
    )
    assert notice.our_payment_id == str(PAYMENT_UUID)


def test_a_payment_event_without_an_order_is_about_nothing_of_ours(provider: RazorpayProvider) -> None:
    notice = _parse(provider, event("payment.captured", payment=payment_entity("captured", order_id=None)))
    assert (notice.payment, notice.refund, notice.our_payment_id) == (None, None, None)


@pytest.mark.parametrize(
    ("name", "expected", "failure_reason"),
    [
        ("refund.created", RefundStatus.PENDING, ""),
        ("refund.processed", RefundStatus.SUCCEEDED, ""),
        ("refund.failed", RefundStatus.FAILED, "Razorpay reported the refund as failed."),
    ],
)
def test_a_refund_event_becomes_a_refund_notice(
    name: str, expected: str, failure_reason: str, provider: RazorpayProvider
) -> None:
    entity = {
        "id": "rfnd_PQ9a1",
        "entity": "refund",
        "amount": 10000,
        "currency": "INR",
        "payment_id": PAY_ID,
        "notes": {"refund_id": str(REFUND_UUID), "payment_id": str(PAYMENT_UUID)},
        "status": "processed",
    }
    payload = event(name, refund=entity, payment=payment_entity("captured"))

    notice = _parse(provider, payload)

    assert notice == WebhookNotice(
        event_id=EVENT_ID,
        type=name,
        payload=payload,
        refund=ProviderRefund(provider_refund_id="rfnd_PQ9a1", status=expected, failure_reason=failure_reason),
        extra={"refund_id": str(REFUND_UUID)},
    )


def test_a_refund_event_without_our_note_still_names_the_razorpay_refund(provider: RazorpayProvider) -> None:
    notice = _parse(provider, event("refund.processed", refund={"id": "rfnd_PQ9a1", "notes": []}))

    assert notice.refund == ProviderRefund(provider_refund_id="rfnd_PQ9a1", status=RefundStatus.SUCCEEDED)
    assert notice.extra == {"refund_id": None}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(event("payment.dispute.created", payment=payment_entity("captured")), id="dispute"),
        pytest.param(event("settlement.processed", settlement={"id": "setl_1"}), id="settlement"),
        pytest.param(event("transfer.processed", transfer={"id": "trf_1"}), id="transfer"),
        pytest.param({"event": "payment.captured", "payload": "not an object"}, id="payment-without-entity"),
        pytest.param({"event": "refund.processed", "payload": {"refund": {"entity": []}}}, id="refund-without-entity"),
    ],
)
def test_an_event_we_do_not_act_on_has_no_payment_or_refund(
    payload: dict[str, Any], provider: RazorpayProvider
) -> None:
    notice = _parse(provider, payload)

    assert notice == WebhookNotice(event_id=EVENT_ID, type=payload["event"], payload=payload)
