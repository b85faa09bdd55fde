"""Retention cleanup owned by enforcement: plates of old bookings, old job runs; and the job that runs
every app's registered purge (``app.cleanup``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from app.cleanup import cleanup_run
from bookings.models import ACTIVE_STATUSES, Booking

from .jobruns import job_runs_purge
from .models import RESOLVED_STATUSES, Violation


def booking_plates_purge(*, now: datetime | None = None) -> int:
    """Erase the plates of bookings that ended more than ``PLATE_RETENTION_DAYS`` ago (privacy).
    The blind index is erased too, unless an open violation carries the same plate (it is needed to
    match that violation to its driver). Returns how many bookings were changed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PLATE_RETENTION_DAYS)
    old = Booking.objects.filter(end__lt=cutoff).exclude(status__in=ACTIVE_STATUSES)
    open_violation = Violation.objects.filter(plate_index=OuterRef("plate_index")).exclude(status__in=RESOLVED_STATUSES)
    needed = Exists(open_violation)
    kept = old.filter(needed).filter(plate__isnull=False).update(plate=None)
    erased = old.filter(~needed).filter(Q(plate__isnull=False) | ~Q(plate_index="")).update(plate=None, plate_index="")
    return kept + erased


def cleanup() -> dict[str, int]:
    return cleanup_run()


def register() -> None:
    from app.cleanup import register_cleanup

    register_cleanup("booking_plates", booking_plates_purge)
    register_cleanup("job_runs", job_runs_purge)
