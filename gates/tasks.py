from celery import shared_task


@shared_task(name="gates.mark_offline", soft_time_limit=50, time_limit=60, tracked=True)
def gates_mark_offline_task() -> int:
    """Beat job (every minute): gates that stopped polling become offline; staff are emailed once."""
    from . import monitoring

    return monitoring.gates_mark_offline()
