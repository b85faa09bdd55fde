"""Receipt emails after a payment succeeds, surviving a broker outage (ARCHITECTURE §6).

``Payment.receipt_sent_at`` is the outbox flag: the payment turns ``succeeded`` in one transaction,
a task is kicked on commit, and the every-minute ``payments: send receipts`` job sends whatever is
still unsent (the kick found the broker down, or SMTP failed). A send locks the payment row with
``SKIP LOCKED`` so two workers never send the same receipt.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from pricing.money import format_money

from .models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from .receipts import receipt_email

logger = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=3)


def receipt_enqueue(payment: Payment) -> None:
    """Inside the transaction that marks ``payment`` succeeded: send its receipt after commit."""
    if payment.driver_id is None:
        return
    payment_id = payment.pk
    transaction.on_commit(lambda: _kick(payment_id))


def _kick(payment_id: uuid.UUID) -> None:
    from .tasks import receipt_send_task

    try:
        receipt_send_task.delay(str(payment_id))
    except Exception:
        logger.warning("payments: could not queue receipt %s; the job sends it", payment_id, exc_info=True)


def _unsent(now: datetime) -> QuerySet[Payment]:
    return Payment.objects.filter(
        status=PaymentStatus.SUCCEEDED,
        receipt_sent_at__isnull=True,
        driver__isnull=False,
        succeeded_at__gte=now - GIVE_UP_AFTER,
    ).exclude(driver__email="")


def receipt_send(payment_id: uuid.UUID | str, *, now: datetime | None = None) -> bool:
    """Send one receipt if unsent (and not being sent by another worker). True when sent."""
    now = now or timezone.now()
    with transaction.atomic():
        payment = _unsent(now).select_for_update(skip_locked=True, of=("self",)).filter(pk=payment_id).first()
        if payment is None:
            return False
        receipt_email(payment).send()
        payment.receipt_sent_at = timezone.now()
        payment.save(update_fields=["receipt_sent_at"])
    return True


def refund_notice_enqueue(refund: Refund) -> None:
    """Inside the transaction that marks ``refund`` succeeded: tell the driver after commit."""
    refund_id = refund.pk
    transaction.on_commit(lambda: _kick_notice(refund_id))


def _kick_notice(refund_id: uuid.UUID) -> None:
    from .tasks import refund_notice_send_task

    try:
        refund_notice_send_task.delay(str(refund_id))
    except Exception:
        logger.warning("payments: could not queue refund notice %s; the job sends it", refund_id, exc_info=True)


def _unnotified(now: datetime) -> QuerySet[Refund]:
    return Refund.objects.filter(
        status=RefundStatus.SUCCEEDED,
        driver_notified_at__isnull=True,
        payment__driver__isnull=False,
        completed_at__gte=now - GIVE_UP_AFTER,
    ).exclude(payment__driver__email="")


def refund_notice_send(refund_id: uuid.UUID | str, *, now: datetime | None = None) -> bool:
    """Email the driver about one succeeded refund, once (``SKIP LOCKED``). True when sent."""
    now = now or timezone.now()
    with transaction.atomic():
        refund = (
            _unnotified(now)
            .select_related("payment__driver", "payment__booking__facility")
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=refund_id)
            .first()
        )
        if refund is None:
            return False
        payment = refund.payment
        assert payment.driver is not None
        booking = payment.booking
        context = {
            "amount": format_money(refund.amount, payment.currency),
            "reason": RefundReason(refund.reason).label,
            "automatic": refund.reason == RefundReason.HOLD_EXPIRED,
            "reference": booking.reference if booking else "",
            "facility_name": booking.facility.name if booking else "",
            "description": payment.description,
            "note": refund.note,
        }
        subject = f"Refund of {context['amount']}" + (f" — {context['reference']}" if booking else "")
        EmailMessage(
            subject=subject,
            body=render_to_string("payments/email/refund.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[payment.driver.email],
        ).send()
        refund.driver_notified_at = timezone.now()
        refund.save(update_fields=["driver_notified_at"])
    return True


def receipts_dispatch(*, batch_size: int = 50, now: datetime | None = None) -> int:
    """Beat job: send unsent receipts and refund notices (oldest first). Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for refund_id in list(_unnotified(now).order_by("completed_at").values_list("pk", flat=True)[:batch_size]):
        try:
            sent += refund_notice_send(refund_id, now=now)
        except Exception:  # noqa: BLE001 - SMTP down: the next run tries again
            logger.warning("payments: refund notice %s not sent", refund_id, exc_info=True)
    for payment_id in list(_unsent(now).order_by("succeeded_at").values_list("pk", flat=True)[:batch_size]):
        try:
            sent += receipt_send(payment_id, now=now)
        except Exception:  # noqa: BLE001 - SMTP down: the next run tries again
            logger.warning("payments: receipt %s not sent", payment_id, exc_info=True)
    return sent
