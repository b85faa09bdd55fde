"""Webhooks through HTTP: authenticity (forged → 400, nothing written), exactly-once effects under
duplicate and concurrent deliveries, any order ends in the same state, 503 on a lock timeout, and
the inbox retry of failed processing."""

import json
import threading
import time
import uuid

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from bookings.models import Booking, BookingStatus
from payments import webhooks
from payments.models import LedgerEntry, Payment, PaymentStatus, WebhookEvent, WebhookOutcome

from .webhook_helpers import (
    RAZORPAY_URL,
    STRIPE_URL,
    razorpay_captured_event,
    razorpay_signature,
    stripe_intent_event,
    stripe_signature,
)

pytestmark = pytest.mark.django_db


def _stripe_payment(booking, provider_payment_id=None) -> Payment:
    return Payment.objects.create(
        organization_id=booking.organization_id,
        driver=booking.driver,
        booking=booking,
        amount=booking.total,
        owner_amount=booking.owner_payout,
        platform_amount=booking.platform_revenue,
        currency=booking.currency,
        provider="stripe",
        provider_payment_id=provider_payment_id or f"pi_{uuid.uuid4().hex[:16]}",
        status=PaymentStatus.REQUIRES_ACTION,
    )


def _post_stripe(body: bytes, signature: str | None, client: APIClient | None = None):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return (client or APIClient()).post(STRIPE_URL, data=body, content_type="application/json", **headers)


def _postings(payment) -> int:
    return LedgerEntry.objects.filter(payment=payment, refund__isnull=True).values("transaction_id").distinct().count()


def test_genuine_stripe_success_confirms_the_booking_once(booking, django_capture_on_commit_callbacks):
    payment = _stripe_payment(booking)
    body = stripe_intent_event("evt_1", "payment_intent.succeeded", payment, "succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        first = _post_stripe(body, stripe_signature(body))
    assert first.status_code == 200
    assert first.json() == {"received": True, "outcome": "processed"}
    again = _post_stripe(body, stripe_signature(body))
    assert again.json()["outcome"] == "duplicate"

    payment.refresh_from_db()
    booking.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert booking.status == BookingStatus.CONFIRMED
    assert _postings(payment) == 1
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED


FORGED = {
    "missing header": lambda body: None,
    "empty header": lambda body: "",
    "garbled header": lambda body: "t=,v1=",
    "non-ascii header": lambda body: "t=1700000000,v1=é",
    "wrong secret": lambda body: stripe_signature(body, secret="whsec_other"),
    "stale": lambda body: stripe_signature(body, timestamp=int(time.time()) - 301),
    "future": lambda body: stripe_signature(body, timestamp=int(time.time()) + 301),
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_forged_stripe_deliveries_are_400_and_write_nothing(booking, case):
    payment = _stripe_payment(booking)
    body = stripe_intent_event("evt_forged", "payment_intent.succeeded", payment, "succeeded")
    response = _post_stripe(body, FORGED[case](body))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert WebhookEvent.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION


def test_tampered_and_non_utf8_bodies_are_400(booking):
    payment = _stripe_payment(booking)
    body = stripe_intent_event("evt_t", "payment_intent.succeeded", payment, "succeeded")
    signature = stripe_signature(body)
    assert _post_stripe(body.replace(b"succeeded", b"SUCCEEDED", 1), signature).status_code == 400
    garbage = b"\xff\xfe\x00"
    assert _post_stripe(garbage, stripe_signature(garbage)).status_code == 400
    several = f"{stripe_signature(body)},v1={'0' * 64}"  # one valid v1 among several is genuine
    assert _post_stripe(body, several).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_unknown_event_types_are_recorded_and_answered_200(booking):
    body = json.dumps({"id": "evt_x", "object": "event", "type": "customer.created", "data": {"object": {}}}).encode()
    response = _post_stripe(body, stripe_signature(body))
    assert response.json() == {"received": True, "outcome": "ignored"}
    assert WebhookEvent.objects.get().type == "customer.created"


def test_razorpay_capture_and_forgery(booking, django_capture_on_commit_callbacks):
    payment = _stripe_payment(booking)
    Payment.objects.filter(pk=payment.pk).update(provider="razorpay", provider_payment_id="order_abc")
    payment.refresh_from_db()
    body = razorpay_captured_event(payment)
    client = APIClient()
    forged = client.post(
        RAZORPAY_URL,
        data=body,
        content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=razorpay_signature(body, secret="nope"),
        HTTP_X_RAZORPAY_EVENT_ID="ev_1",
    )
    assert forged.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        genuine = client.post(
            RAZORPAY_URL,
            data=body,
            content_type="application/json",
            HTTP_X_RAZORPAY_SIGNATURE=razorpay_signature(body),
            HTTP_X_RAZORPAY_EVENT_ID="ev_1",
        )
    assert genuine.json()["outcome"] == "processed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


LIFECYCLE = [
    ("payment_intent.requires_action", "requires_action"),
    ("payment_intent.processing", "processing"),
    ("payment_intent.payment_failed", "requires_payment_method"),
    ("payment_intent.succeeded", "succeeded"),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(LIFECYCLE))), repeats=st.lists(st.integers(0, 3), max_size=3))
def test_any_delivery_order_ends_in_the_same_state(booking, order, repeats):
    payment = _stripe_payment(booking)
    with transaction.atomic():
        deliveries = [*order, *repeats]
        for index in deliveries:
            event_type, status = LIFECYCLE[index]
            extra = {"last_payment_error": {"message": "Card declined"}} if status == "requires_payment_method" else {}
            body = stripe_intent_event(f"evt_{payment.pk.hex}_{index}", event_type, payment, status, **extra)
            webhooks.webhook_receive(
                provider_name="stripe", body=body, headers={"Stripe-Signature": stripe_signature(body)}
            )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _postings(payment) == 1
    assert WebhookEvent.objects.filter(event_id__startswith=f"evt_{payment.pk.hex}").count() == len(LIFECYCLE)


def test_failed_processing_is_kept_and_retried_by_the_inbox_job(booking, monkeypatch):
    payment = _stripe_payment(booking)
    body = stripe_intent_event("evt_retry", "payment_intent.succeeded", payment, "succeeded")

    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(webhooks, "payment_apply_provider_state", broken)
    assert _post_stripe(body, stripe_signature(body)).json()["outcome"] == "failed"
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.error) == (WebhookOutcome.FAILED, "RuntimeError: bug")
    monkeypatch.undo()

    from datetime import timedelta

    from django.utils import timezone

    assert webhooks.webhooks_retry_failed(now=timezone.now() + timedelta(minutes=1)) == 1
    event.refresh_from_db()
    payment.refresh_from_db()
    assert (event.outcome, event.attempts, payment.status) == (WebhookOutcome.PROCESSED, 2, PaymentStatus.SUCCEEDED)
    assert webhooks.webhooks_retry_failed(now=timezone.now() + timedelta(minutes=1)) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_fifty_events_eight_concurrent_deliveries_each_have_exactly_one_effect(booking):
    payments = [_stripe_payment(booking, provider_payment_id=f"pi_many_{n}") for n in range(50)]
    bodies = [
        stripe_intent_event(f"evt_many_{n}", "payment_intent.succeeded", payment, "succeeded")
        for n, payment in enumerate(payments)
    ]
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def deliver(offset: int) -> None:
        client = APIClient()
        try:
            barrier.wait(timeout=30)
            for n in range(50):
                body = bodies[(n + offset * 7) % 50]
                response = _post_stripe(body, stripe_signature(body), client)
                with lock:
                    statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert len(statuses) == 400
    assert set(statuses) == {200}, sorted(set(statuses))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_webhookevent WHERE event_id LIKE 'evt_many_%%'")
        assert cursor.fetchone()[0] == 50
        cursor.execute(
            "SELECT count(DISTINCT transaction_id) FROM payments_ledgerentry l JOIN payments_payment p "
            "ON p.id = l.payment_id WHERE p.provider_payment_id LIKE 'pi_many_%%' AND l.refund_id IS NULL"
        )
        assert cursor.fetchone()[0] == 50
        cursor.execute(
            "SELECT count(*) FROM payments_payment WHERE provider_payment_id LIKE 'pi_many_%%' AND status = 'succeeded'"
        )
        assert cursor.fetchone()[0] == 50


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_lock_timeout_answers_503_and_keeps_nothing(booking):
    payment = _stripe_payment(booking)
    body = stripe_intent_event("evt_busy", "payment_intent.succeeded", payment, "succeeded")
    locked, release = threading.Event(), threading.Event()

    def hold_the_booking() -> None:
        try:
            with transaction.atomic():
                Booking.objects.select_for_update().get(pk=booking.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_booking)
    holder.start()
    locked.wait(timeout=10)
    try:
        response = _post_stripe(body, stripe_signature(body))
    finally:
        release.set()
        holder.join(timeout=30)

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "busy"
    assert WebhookEvent.objects.filter(event_id="evt_busy").count() == 0
    assert _post_stripe(body, stripe_signature(body)).json()["outcome"] == "processed"  # the provider's retry
