"""Signed provider deliveries for tests, computed with the providers' real schemes (not the libraries)."""

import hashlib
import hmac
import json
import time
from typing import Any

from payments.tests.conftest import RAZORPAY_TEST, STRIPE_TEST

STRIPE_URL = "/api/v1/payments/webhooks/stripe/"
RAZORPAY_URL = "/api/v1/payments/webhooks/razorpay/"


def stripe_signature(body: bytes, timestamp: int | None = None, secret: str = STRIPE_TEST["webhook_secret"]) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_intent_event(event_id: str, event_type: str, payment: Any, status: str, **extra: Any) -> bytes:
    obj = {
        "id": payment.provider_payment_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency.lower(),
        "status": status,
        "last_payment_error": extra.pop("last_payment_error", None),
        "latest_charge": None,
        "metadata": {"payment_id": str(payment.pk)},
        **extra,
    }
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}).encode()


def razorpay_signature(body: bytes, secret: str = RAZORPAY_TEST["webhook_secret"]) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def razorpay_captured_event(payment: Any, razorpay_payment_id: str = "pay_123") -> bytes:
    entity = {
        "id": razorpay_payment_id,
        "entity": "payment",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": "captured",
        "order_id": payment.provider_payment_id,
        "notes": {},
    }
    return json.dumps(
        {"entity": "event", "event": "payment.captured", "payload": {"payment": {"entity": entity}}}
    ).encode()
