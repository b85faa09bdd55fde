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

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Payment, PaymentStatus

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
    from .receipts import receipt_email

    now = now or timezone.now()
    with transaction.atomic():
        payment = _unsent(now).select_for_update(skip_locked=True, of=("self",)).filter(pk=payment_id).first()
        if payment is None:
            return False
        receipt_email(payment).send()
        payment.receipt_sent_at = timezone.now()
        payment.save(update_fields=["receipt_sent_at"])
    return True


def receipts_dispatch(*, batch_size: int = 50, now: datetime | None = None) -> int:
    """Beat job: send unsent receipts (oldest first). Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for payment_id in list(_unsent(now).order_by("succeeded_at").values_list("pk", flat=True)[:batch_size]):
        try:
            sent += receipt_send(payment_id, now=now)
        except Exception:  # noqa: BLE001 - SMTP down: the next run tries again
            logger.warning("payments: receipt %s not sent", payment_id, exc_info=True)
    return sent
