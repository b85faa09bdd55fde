from celery import shared_task

from . import services


@shared_task(name="bookings.expire_unpaid_holds", soft_time_limit=60, time_limit=90, tracked=True)
def bookings_expire_unpaid_task() -> int:
    """Beat job (every minute): expire unpaid holds. Idempotent; safe with several workers."""
    return services.bookings_expire_unpaid()


@shared_task(name="bookings.outbox_send", soft_time_limit=60, time_limit=90)
def outbox_send_task(message_id: int) -> bool:
    """Send one outbox email (kicked after commit). Idempotent: a sent message is not sent again."""
    from . import outbox

    return outbox.outbox_send(message_id)


@shared_task(name="bookings.outbox_dispatch", soft_time_limit=240, time_limit=300, tracked=True)
def outbox_dispatch_task() -> dict[str, int]:
    """Beat job (every minute): send due outbox emails (booking emails and staff alerts), e.g. those
    whose kick found the broker down."""
    from . import issues, outbox

    return {"booking_emails": outbox.outbox_dispatch(), "staff_alerts": issues.staff_alerts_dispatch()}


@shared_task(name="bookings.staff_alert_send", soft_time_limit=60, time_limit=90)
def staff_alert_send_task(alert_id: int) -> bool:
    """Send one staff alert about a reported issue (kicked after commit)."""
    from . import issues

    return issues.staff_alert_send(alert_id)


@shared_task(name="bookings.send_reminders", soft_time_limit=240, time_limit=300, tracked=True)
def outbox_queue_reminders_task() -> int:
    """Beat job (every 5 minutes): queue reminder emails for bookings starting soon. Idempotent."""
    from . import outbox

    return outbox.outbox_queue_reminders()
