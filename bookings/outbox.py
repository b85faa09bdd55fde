"""Booking email outbox (ARCHITECTURE §6): side effects after commit that survive a broker outage.

``outbox_enqueue`` writes the message in the caller's transaction, so it exists exactly when the booking
change commits, and kicks a send task on commit. If the broker is down the kick only logs; the
every-minute beat job (``outbox_dispatch``) sends whatever is due. Each send locks its outbox row
(``SKIP LOCKED``, never a booking row) and a sent row is never sent again.
"""

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .emails import booking_email
from .models import Booking, BookingKind, BookingStatus, EmailOutboxBase, OutboxKind, OutboxMessage

Row = TypeVar("Row", bound=EmailOutboxBase)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
MAX_ERROR_LENGTH = 2000


def outbox_enqueue(*, kind: str, booking: Booking) -> OutboxMessage | None:
    """Queue an email about ``booking`` inside the current transaction; ``None`` if there is no one to email."""
    to_email = booking.driver.email if booking.driver is not None else ""
    if not to_email:
        return None
    message = OutboxMessage.objects.create(kind=kind, booking=booking, to_email=to_email)
    message_id = message.pk
    transaction.on_commit(lambda: _kick(message_id))
    return message


def _kick(message_id: int) -> None:
    """Ask a worker to send now; a broker outage must not fail the request (the beat job catches up)."""
    from .tasks import outbox_send_task

    try:
        outbox_send_task.delay(message_id)
    except Exception:
        logger.warning("outbox: could not queue message %s; the dispatch job will send it", message_id, exc_info=True)


def _due(model: type[Row], now: datetime) -> QuerySet[Row]:
    return model._default_manager.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now)


def _send_locked(message: Row, now: datetime, build: Callable[[Row], EmailMessage | None]) -> bool:
    """Send a locked, unsent message and record the outcome. True when sent."""
    try:
        email = build(message)
        if email is not None:
            email.send()
    except Exception as exc:
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        message.next_attempt_at = now + timedelta(minutes=2**message.attempts)
        message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        log = logger.error if message.attempts >= MAX_ATTEMPTS else logger.warning
        log(
            "outbox: %s %s failed (attempt %s): %s",
            model_label(message),
            message.pk,
            message.attempts,
            message.last_error,
        )
        return False
    message.sent_at = timezone.now()
    message.last_error = "" if email is not None else "skipped: no longer applies"
    message.save(update_fields=["sent_at", "last_error"])
    return email is not None


def model_label(message: EmailOutboxBase) -> str:
    return message._meta.label_lower


def outbox_send_row(
    model: type[Row], message_id: int, build: Callable[[Row], EmailMessage | None], *, now: datetime | None = None
) -> bool:
    """Send one row of an outbox table (any ``EmailOutboxBase``) if it is unsent and due and not being
    sent by another worker; ``build`` makes the email (``None``: no longer applies). True when sent."""
    now = now or timezone.now()
    with transaction.atomic():
        message = _due(model, now).select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None:
            return False
        return _send_locked(message, now, build)


def outbox_dispatch_rows(
    model: type[Row], build: Callable[[Row], EmailMessage | None], *, batch_size: int, now: datetime | None = None
) -> int:
    """Send up to ``batch_size`` due rows of an outbox table, oldest first, one transaction each."""
    now = now or timezone.now()
    candidates = list(_due(model, now).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:batch_size])
    return sum(1 for message_id in candidates if outbox_send_row(model, message_id, build, now=now))


def outbox_send(message_id: int, *, now: datetime | None = None) -> bool:
    """Send one booking email if it is unsent and due (and not being sent by another worker). True when sent."""
    return outbox_send_row(OutboxMessage, message_id, booking_email, now=now)


def outbox_dispatch(*, batch_size: int = 50, now: datetime | None = None) -> int:
    """Send up to ``batch_size`` due booking emails, oldest first. Returns how many were sent."""
    return outbox_dispatch_rows(OutboxMessage, booking_email, batch_size=batch_size, now=now)


def outbox_queue_reminders(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Queue the reminders (a beat job, ``send_reminders``): before the start for confirmed bookings
    starting within ``BOOKING_REMINDER_MINUTES``, before the end for parked cars whose booking ends
    within ``BOOKING_ENDING_REMINDER_MINUTES``. Once each: idempotent and safe with several workers
    (the ``(booking, kind)`` unique constraint keeps a second one out). Returns how many were queued."""
    now = now or timezone.now()
    starting = Booking.objects.filter(
        status=BookingStatus.CONFIRMED,
        start__gt=now,
        start__lte=now + timedelta(minutes=settings.BOOKING_REMINDER_MINUTES),
    ).order_by("start", "id")
    ending = Booking.objects.filter(
        status=BookingStatus.CHECKED_IN,
        kind=BookingKind.RESERVATION,
        end__gt=now,
        end__lte=now + timedelta(minutes=settings.BOOKING_ENDING_REMINDER_MINUTES),
    ).order_by("end", "id")
    return _queue_once(OutboxKind.BOOKING_REMINDER, starting, batch_size) + _queue_once(
        OutboxKind.BOOKING_ENDING, ending, batch_size
    )


def _queue_once(kind: str, bookings: QuerySet[Booking], batch_size: int) -> int:
    already = OutboxMessage.objects.filter(booking=OuterRef("pk"), kind=kind)
    due = (
        bookings.exclude(driver__isnull=True)
        .exclude(driver__email="")
        .exclude(Exists(already))
        .values_list("pk", "driver__email")[:batch_size]
    )
    queued = 0
    for booking_id, email in due:
        # get_or_create re-reads on a unique violation, so a concurrent worker's row wins quietly.
        message, created = OutboxMessage.objects.get_or_create(
            booking_id=booking_id, kind=kind, defaults={"to_email": email}
        )
        if created:
            queued += 1
            _kick(message.pk)  # autocommit here: the row is committed
    return queued


def outbox_enqueue_once(*, kind: str, booking: Booking) -> OutboxMessage | None:
    """Like ``outbox_enqueue`` for kinds sent at most once per booking (no-show, overstay notices):
    ``None`` when it was queued before or there is no one to email. Call inside the booking's
    transaction with the booking locked (so no concurrent caller races for the same row)."""
    if OutboxMessage.objects.filter(booking=booking, kind=kind).exists():
        return None
    return outbox_enqueue(kind=kind, booking=booking)


def outbox_retry(*, message_ids: list[int]) -> int:
    """Give unsent messages (e.g. given up after ``MAX_ATTEMPTS``) a fresh set of attempts, due now,
    and kick them (the back office's "retry" action). Sent messages are left alone. Returns how many."""
    pending = list(OutboxMessage.objects.filter(pk__in=message_ids, sent_at__isnull=True).values_list("pk", flat=True))
    OutboxMessage.objects.filter(pk__in=pending).update(attempts=0, next_attempt_at=timezone.now())
    for message_id in pending:
        transaction.on_commit(functools.partial(_kick, message_id))
    return len(pending)
