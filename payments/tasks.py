from celery import shared_task


@shared_task(name="payments.refund_execute", soft_time_limit=60, time_limit=90)
def refund_execute_task(refund_id: str) -> str:
    """Execute one pending refund at its provider (kicked after commit; reconciliation retries)."""
    from . import services

    return str(services.refund_execute(refund_id=refund_id).status)


@shared_task(name="payments.receipt_send", soft_time_limit=60, time_limit=90)
def receipt_send_task(payment_id: str) -> bool:
    from . import notifications

    return notifications.receipt_send(payment_id)


@shared_task(name="payments.receipts_dispatch", soft_time_limit=240, time_limit=300, tracked=True)
def receipts_dispatch_task() -> int:
    """Beat job (every minute): send receipts still unsent."""
    from . import notifications

    return notifications.receipts_dispatch()


@shared_task(name="payments.reconcile", soft_time_limit=240, time_limit=300, tracked=True)
def payments_reconcile_task() -> int:
    """Beat job (every 5 minutes): repair stuck payments and pending refunds from the provider."""
    from . import services

    return services.payments_reconcile()


@shared_task(name="payments.webhooks_retry", soft_time_limit=240, time_limit=300, tracked=True)
def webhooks_retry_task() -> int:
    """Beat job (every 5 minutes): re-apply webhook events whose processing failed."""
    from . import webhooks

    return webhooks.webhooks_retry_failed()


@shared_task(name="payments.payouts", soft_time_limit=1200, time_limit=1500, tracked=True)
def payouts_task() -> int:
    """Beat job (daily): pay organizations their payable balance past holdback. Never pays twice."""
    from . import payouts

    return payouts.payouts_run()


@shared_task(name="payments.charge_off_session", soft_time_limit=60, time_limit=90)
def payment_charge_off_session_task(payment_id: str) -> str:
    """Charge an open fee request to the driver's saved card (kicked after commit)."""
    from . import services

    return str(services.payment_charge_off_session(payment_id=payment_id).status)


@shared_task(name="payments.refund_notice_send", soft_time_limit=60, time_limit=90)
def refund_notice_send_task(refund_id: str) -> bool:
    from . import notifications

    return notifications.refund_notice_send(refund_id)


@shared_task(name="payments.alerts_check", soft_time_limit=120, time_limit=180, tracked=True)
def payment_alerts_check_task() -> dict[str, int]:
    """Beat job (every 5 minutes): open/close payment alerts and email managers once."""
    from .alerts import alerts_check

    return alerts_check()
