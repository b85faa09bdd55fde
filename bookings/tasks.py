from celery import shared_task

from . import services


@shared_task(name="bookings.expire_unpaid_holds", soft_time_limit=60, time_limit=90)
def bookings_expire_unpaid_task() -> int:
    """Beat job (every minute): expire unpaid holds. Idempotent; safe with several workers."""
    return services.bookings_expire_unpaid()
