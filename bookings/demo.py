"""Demo bookings in several statuses for the demo drivers (called by ``manage.py seed_demo``).

Idempotent: skipped when the demo drivers already have bookings. Created through the services; the
completed one is made in the future and then moved into the past, which only demo data may do.
"""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import User
from parking.models import Facility

from . import services
from .models import Booking


def _book(driver: User, facility: Facility, start: Any, hours: int) -> Booking:
    vehicle = driver.vehicles.filter(is_default=True).first()
    assert vehicle is not None
    return services.booking_create(
        services.BookingRequest(
            driver=driver, vehicle=vehicle, facility=facility, start=start, end=start + timedelta(hours=hours)
        )
    )


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    driver1, driver2 = users["driver1@demo.parking"], users["driver2@demo.parking"]
    if Booking.objects.filter(driver__in=[driver1, driver2]).exists():
        return
    garage = Facility.objects.filter(slug="mission-street-garage").first()
    if garage is None:
        return
    tomorrow = (timezone.now() + timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    soon = (timezone.now() + timedelta(minutes=2)).replace(second=0, microsecond=0)

    _book(driver1, garage, tomorrow, 3)  # pending payment (the garage requires prepayment)
    confirmed = _book(driver1, garage, tomorrow + timedelta(days=1), 2)
    services.booking_confirm(booking_id=confirmed.pk)
    parked = _book(driver2, garage, soon, 4)
    services.booking_confirm(booking_id=parked.pk)
    services.booking_check_in(booking_id=parked.pk, actor=driver2, at=timezone.now())
    cancelled = _book(driver2, garage, tomorrow + timedelta(days=2), 2)
    services.booking_confirm(booking_id=cancelled.pk)
    services.booking_cancel(booking_id=cancelled.pk, actor=driver2, reason="Plans changed")
    expired = _book(driver2, garage, tomorrow + timedelta(days=3), 2)
    Booking.objects.filter(pk=expired.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    services.bookings_expire_unpaid()
    done = _book(driver1, garage, tomorrow + timedelta(days=4), 2)
    services.booking_confirm(booking_id=done.pk)
    services.booking_check_in(booking_id=done.pk, actor=driver1, at=done.start)
    services.booking_check_out(booking_id=done.pk, actor=driver1, at=done.end)
    # Demo only: move the completed stay into last week so the history looks real.
    shift = timedelta(days=12)
    Booking.objects.filter(pk=done.pk).update(
        start=done.start - shift,
        end=done.end - shift,
        checked_in_at=done.start - shift,
        checked_out_at=done.end - shift,
    )
