from celery import shared_task


@shared_task(name="integrations.delivery_send", soft_time_limit=60, time_limit=90)
def delivery_send_task(delivery_id: int) -> bool:
    """Send one webhook delivery (kicked after commit)."""
    from .services import delivery_send

    return delivery_send(delivery_id)


@shared_task(name="integrations.deliveries_dispatch", soft_time_limit=240, time_limit=300, tracked=True)
def deliveries_dispatch_task() -> dict[str, int]:
    """Beat job (every minute): send due webhook deliveries (retries with back-off)."""
    from .services import deliveries_dispatch

    return deliveries_dispatch()
