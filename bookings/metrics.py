"""Booking metrics (Prometheus, /metrics): bookings created and conflicts (spot taken)."""

from prometheus_client import Counter

BOOKINGS_CREATED = Counter("bookings_created_total", "Bookings created, by kind and source.", ["kind", "source"])
BOOKING_CONFLICTS = Counter(
    "booking_conflicts_total", "Booking attempts refused because the spot was taken (409 spot_unavailable)."
)
