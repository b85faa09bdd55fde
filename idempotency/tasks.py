from celery import shared_task

from .services import idempotency_records_purge


@shared_task(name="idempotency.purge_records", soft_time_limit=120, time_limit=180, tracked=True)
def idempotency_records_purge_task() -> int:
    """Beat job (hourly): delete idempotency records older than their TTL. Idempotent."""
    return idempotency_records_purge()
