"""Booking email outbox: written with the booking, sent after commit, survives a broker outage."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError

from bookings import outbox, services, tasks
from bookings.exceptions import SpotUnavailableError
from bookings.models import OutboxKind, OutboxMessage
from pricing.money import format_money

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def request_for(driver, car, facility, spot, window):
    start, end = window
    facility.access_instructions = "Enter from Pine St; press the intercom."
    facility.save(update_fields=["access_instructions"])
    return services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)


def _create(request, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.booking_create(request)


def test_confirmation_email_sent_after_commit_with_qr(request_for, car, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        booking = services.booking_create(request_for)
    assert mail.outbox == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["driver@example.com"]
    assert email.subject == f"Your parking at Garage is confirmed — {booking.reference}"
    local_start = booking.start.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%H:%M")
    total = format_money(booking.total, "USD")
    for text in (booking.reference, "1 Market St", "A-1", total, "press the intercom", local_start):
        assert text in email.body, text
    html = email.alternatives[0]
    assert html[1] == "text/html"
    assert booking.reference in html[0]
    assert car.plate not in email.body
    assert car.plate not in html[0]
    [(name, content, mimetype)] = email.attachments
    assert (name, mimetype) == ("qr.png", "image/png")
    assert content.startswith(PNG_SIGNATURE)
    message = OutboxMessage.objects.get(booking=booking)
    assert message.kind == OutboxKind.BOOKING_CONFIRMED
    assert message.sent_at is not None
    assert message.attempts == 0


def test_cancellation_email_with_refund(request_for, driver, django_capture_on_commit_callbacks):
    booking = _create(request_for, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking_id=booking.pk, actor=driver, reason="plans changed")

    [email] = mail.outbox
    assert email.subject == f"Your parking at Garage is cancelled — {booking.reference}"
    assert f"Refund: {format_money(booking.total, 'USD')}" in email.body
    assert "press the intercom" not in email.body
    assert email.attachments == []


def test_broker_outage_does_not_fail_booking_and_dispatch_sends_once(
    request_for, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.outbox_send_task, "delay", broker_down)
    booking = _create(request_for, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    message = OutboxMessage.objects.get(booking=booking)
    assert message.sent_at is None

    assert outbox.outbox_dispatch() == 1
    assert len(mail.outbox) == 1
    assert outbox.outbox_dispatch() == 0
    assert outbox.outbox_send(message.pk) is False
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.sent_at is not None


def test_smtp_failure_records_error_and_backs_off(request_for, monkeypatch, django_capture_on_commit_callbacks):
    def smtp_down(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", smtp_down)
    booking = _create(request_for, django_capture_on_commit_callbacks)  # the kick fails to send, quietly
    message = OutboxMessage.objects.get(booking=booking)
    assert message.sent_at is None
    assert message.attempts == 1
    assert "smtp down" in message.last_error
    assert message.next_attempt_at > timezone.now() + timedelta(minutes=1)

    now = message.next_attempt_at
    assert outbox.outbox_dispatch(now=now - timedelta(seconds=1)) == 0  # not due yet
    assert outbox.outbox_dispatch(now=now) == 0
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at == now + timedelta(minutes=4)

    monkeypatch.undo()
    assert outbox.outbox_dispatch(now=message.next_attempt_at) == 1
    assert len(mail.outbox) == 1


def test_gives_up_after_max_attempts(request_for, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda self, fail_silently=False: 1 / 0)
    booking = _create(request_for, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(booking=booking)
    for _ in range(10):
        outbox.outbox_dispatch(now=message.next_attempt_at)
        message.refresh_from_db()
    assert message.attempts == outbox.MAX_ATTEMPTS
    assert outbox.outbox_dispatch(now=message.next_attempt_at + timedelta(days=1)) == 0


def test_failed_booking_leaves_no_outbox_row(request_for, driver, django_capture_on_commit_callbacks):
    _create(request_for, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SpotUnavailableError):
        services.booking_create(request_for)
    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1


def test_pending_payment_booking_emails_on_confirm(request_for, facility, django_capture_on_commit_callbacks):
    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    booking = _create(request_for, django_capture_on_commit_callbacks)
    assert OutboxMessage.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_confirm(booking_id=booking.pk)
    [email] = mail.outbox
    assert "confirmed" in email.subject
    assert email.attachments[0][0] == "qr.png"


def test_beat_schedule_exists():
    task = PeriodicTask.objects.get(name="bookings: send outbox")
    assert task.task == "bookings.outbox_dispatch"
    assert (task.interval.every, task.interval.period) == (1, "minutes")


def test_reminder_schedule_exists():
    task = PeriodicTask.objects.get(name="bookings: send reminders")
    assert task.task == "bookings.send_reminders"
    assert (task.interval.every, task.interval.period) == (5, "minutes")


def test_reminder_queued_once_for_bookings_starting_soon(
    request_for, driver, car, facility, spot, django_capture_on_commit_callbacks, settings
):
    settings.BOOKING_REMINDER_MINUTES = 60
    booking = _create(request_for, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    before = booking.start - timedelta(minutes=61)

    assert outbox.outbox_queue_reminders(now=before) == 0  # not within the hour yet
    assert mail.outbox == []

    soon = booking.start - timedelta(minutes=59)
    assert outbox.outbox_queue_reminders(now=soon) == 1
    [email] = mail.outbox
    assert email.subject == f"Your parking at Garage starts soon — {booking.reference}"
    assert "Your parking starts soon." in email.body
    assert "press the intercom" in email.body
    assert email.attachments[0][0] == "qr.png"

    assert outbox.outbox_queue_reminders(now=soon) == 0  # a rerun queues nothing
    assert outbox.outbox_queue_reminders(now=booking.start - timedelta(minutes=1)) == 0
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.filter(booking=booking, kind=OutboxKind.BOOKING_REMINDER).count() == 1


def test_no_reminder_for_cancelled_booking_or_after_start(
    request_for, driver, django_capture_on_commit_callbacks, settings
):
    booking = _create(request_for, django_capture_on_commit_callbacks)
    assert outbox.outbox_queue_reminders(now=booking.start) == 0  # already started
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking_id=booking.pk, actor=driver)
    assert outbox.outbox_queue_reminders(now=booking.start - timedelta(minutes=30)) == 0
    assert not OutboxMessage.objects.filter(kind=OutboxKind.BOOKING_REMINDER).exists()


def test_reminder_skipped_when_booking_cancelled_before_sending(
    request_for, driver, monkeypatch, django_capture_on_commit_callbacks
):
    booking = _create(request_for, django_capture_on_commit_callbacks)
    monkeypatch.setattr(outbox, "_kick", lambda message_id: None)  # the broker is down
    assert outbox.outbox_queue_reminders(now=booking.start - timedelta(minutes=30)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking_id=booking.pk, actor=driver)
    mail.outbox.clear()

    assert outbox.outbox_dispatch() == 1  # the cancellation (its kick found the broker down too)
    [email] = mail.outbox
    assert "cancelled" in email.subject
    reminder = OutboxMessage.objects.get(booking=booking, kind=OutboxKind.BOOKING_REMINDER)
    assert reminder.sent_at is not None
    assert reminder.last_error == "skipped: no longer applies"
    assert outbox.outbox_dispatch() == 0  # and it is not retried
