from datetime import timedelta

from django.conf import settings


def drive_in_horizon() -> timedelta:
    """How far ahead a drive-in session's spot must be free, and how long a parked car keeps it
    for upcoming reservations (``DRIVE_IN_HORIZON_MINUTES``, default 180)."""
    return timedelta(minutes=int(getattr(settings, "DRIVE_IN_HORIZON_MINUTES", 180)))
