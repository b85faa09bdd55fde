"""Retention of gate events (the daily cleanup job, registered in ``GatesConfig.ready``)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import GateEvent, ReviewStatus

BATCH_SIZE = 5000


def gate_events_purge(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete gate events that occurred more than ``GATE_EVENT_RETENTION_DAYS`` ago, in batches,
    except those whose manual review is still pending (staff have not looked yet). Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GATE_EVENT_RETENTION_DAYS)
    old = GateEvent.objects.filter(occurred_at__lt=cutoff).exclude(review__status=ReviewStatus.PENDING)
    total = 0
    while batch := list(old.order_by().values_list("pk", flat=True)[:batch_size]):
        GateEvent.objects.filter(pk__in=batch).delete()
        total += len(batch)
    return total
