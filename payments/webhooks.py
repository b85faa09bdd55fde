"""The webhook inbox: verify, de-duplicate and apply provider events (ARCHITECTURE §7).

The event id is inserted with ``ON CONFLICT DO NOTHING`` in the same transaction as its effect: a
duplicate (or a concurrent second delivery, which waits on the unique index) inserts nothing and
changes nothing. An effect that fails is rolled back to a savepoint and the event is kept as
``failed`` for the inbox job to retry; a lock timeout rolls everything back and answers 503 so the
provider delivers again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from app.db import set_lock_timeout

from .metrics import WEBHOOK_FAILURES
from .models import Payment, Refund, WebhookEvent, WebhookOutcome
from .providers import provider_get
from .providers.base import ProviderPayment, ProviderRefund, WebhookNotice
from .services import payment_apply_provider_state, refund_apply_provider_state

logger = logging.getLogger(__name__)

WEBHOOK_LOCK_TIMEOUT_MS = 2000
MAX_ATTEMPTS = 8


def webhook_receive(*, provider_name: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify and apply one delivery. Returns the outcome (``duplicate`` for a repeat).

    Raises ``WebhookSignatureError`` for anything forged or malformed (the view answers 400) and
    lets a lock timeout propagate (the view answers 503)."""
    provider = provider_get(provider_name)
    notice = provider.parse_webhook(body=body, headers=headers)
    with transaction.atomic():
        set_lock_timeout(WEBHOOK_LOCK_TIMEOUT_MS)
        event_pk = _insert_once(provider_name, notice)
        if event_pk is None:
            return "duplicate"
        return _process(event_pk, provider_name, notice)


def _insert_once(provider_name: str, notice: WebhookNotice) -> int | None:
    stored = {"event": notice.payload, "notice": _notice_dict(notice)}
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO payments_webhookevent
                   (provider, event_id, type, payload, received_at, outcome, error, attempts)
               VALUES (%s, %s, %s, %s, now(), %s, '', 0)
               ON CONFLICT (provider, event_id) DO NOTHING
               RETURNING id""",
            [provider_name, notice.event_id, notice.type[:100], json.dumps(stored), WebhookOutcome.PENDING],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _notice_dict(notice: WebhookNotice) -> dict[str, Any]:
    return {
        "event_id": notice.event_id,
        "type": notice.type,
        "payment": asdict(notice.payment) if notice.payment else None,
        "refund": asdict(notice.refund) if notice.refund else None,
        "our_payment_id": notice.our_payment_id,
        "extra": notice.extra,
    }


def _process(event_pk: int, provider_name: str, notice: WebhookNotice) -> str:
    """Apply the event inside the caller's transaction; record the outcome on its inbox row."""
    outcome, error = WebhookOutcome.IGNORED, ""
    try:
        with transaction.atomic():  # a savepoint: a failed effect leaves the inbox row to retry
            if _apply(provider_name, notice):
                outcome = WebhookOutcome.PROCESSED
    except Exception as exc:
        if _is_lock_timeout(exc):
            raise
        outcome, error = WebhookOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        logger.exception("payments: webhook %s %s failed", provider_name, notice.event_id)
        WEBHOOK_FAILURES.labels(provider=provider_name).inc()
    WebhookEvent.objects.filter(pk=event_pk).update(
        outcome=outcome,
        error=error,
        attempts=1,
        processed_at=timezone.now() if outcome != WebhookOutcome.FAILED else None,
    )
    return str(outcome)


def _is_lock_timeout(exc: BaseException) -> bool:
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) == "55P03"


def _apply(provider_name: str, notice: WebhookNotice) -> bool:
    """Apply the notice's effect; False when there is nothing of ours to apply it to."""
    if notice.payment is not None:
        payment = _find_payment(provider_name, notice.payment.provider_payment_id, notice.our_payment_id)
        if payment is None:
            return False
        payment_apply_provider_state(payment_id=payment.pk, state=notice.payment)
        return True
    if notice.refund is not None:
        refund = _find_refund(notice.refund.provider_refund_id, notice.extra.get("refund_id"))
        if refund is None:
            return False
        refund_apply_provider_state(refund_id=refund.pk, state=notice.refund)
        return True
    return False


def _find_payment(provider_name: str, provider_payment_id: str, our_payment_id: str | None) -> Payment | None:
    payment = Payment.objects.filter(provider=provider_name, provider_payment_id=provider_payment_id).first()
    our_id = _uuid_or_none(our_payment_id or "")
    if payment is None and our_id is not None:
        # The event can arrive before we stored the provider's id (create call still in flight).
        payment = Payment.objects.filter(provider=provider_name, pk=our_id).first()
    return payment


def _find_refund(provider_refund_id: str, our_refund_id: Any) -> Refund | None:
    refund = Refund.objects.filter(provider_refund_id=provider_refund_id).first() if provider_refund_id else None
    our_id = _uuid_or_none(str(our_refund_id or ""))
    if refund is None and our_id is not None:
        refund = Refund.objects.filter(pk=our_id).first()
    return refund


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def webhooks_retry_failed(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Beat job: re-apply inbox events whose processing failed (oldest first, bounded attempts).
    Safe with several workers (``SKIP LOCKED``); the effects are idempotent. Returns how many now succeeded."""
    now = now or timezone.now()
    done = 0
    ids = list(
        WebhookEvent.objects.filter(
            outcome=WebhookOutcome.FAILED, attempts__lt=MAX_ATTEMPTS, received_at__lt=now - timedelta(seconds=30)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    for event_pk in ids:
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update(skip_locked=True).filter(pk=event_pk).first()
            if event is None or event.outcome != WebhookOutcome.FAILED:
                continue
            notice = _notice_from(event)
            attempts = event.attempts
            outcome = _process(event.pk, event.provider, notice)
            WebhookEvent.objects.filter(pk=event.pk).update(attempts=attempts + 1)
            done += outcome != WebhookOutcome.FAILED
    return done


def _notice_from(event: WebhookEvent) -> WebhookNotice:
    stored = event.payload["notice"]
    return WebhookNotice(
        event_id=stored["event_id"],
        type=stored["type"],
        payload=event.payload["event"],
        payment=ProviderPayment(**stored["payment"]) if stored["payment"] else None,
        refund=ProviderRefund(**stored["refund"]) if stored["refund"] else None,
        our_payment_id=stored["our_payment_id"],
        extra=stored["extra"],
    )


def webhook_payloads_purge(*, now: datetime | None = None) -> int:
    """Retention (the daily cleanup): empty the stored payloads of handled webhook events older than
    ``WEBHOOK_PAYLOAD_RETENTION_DAYS``. The rows (provider + event id) stay, so a late duplicate
    delivery is still recognised and ignored. Returns how many payloads were emptied."""
    from django.conf import settings

    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_PAYLOAD_RETENTION_DAYS)
    return (
        WebhookEvent.objects.filter(
            received_at__lt=cutoff, outcome__in=(WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED)
        )
        .exclude(payload={})
        .update(payload={})
    )
