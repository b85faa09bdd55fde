"""Demo money (called by ``manage.py seed_demo`` after the demo bookings): the owner's payout account
(sandbox transfers), and the confirmed, parked and completed demo bookings paid in cash at the
booth by the staff member, so earnings, the ledger and receipts have something to show. Idempotent."""

from typing import Any

from accounts.models import Organization, User
from bookings.models import Booking, BookingStatus

from . import services
from .models import Payment, PayoutAccount


def seed_demo(*, users: dict[str, User], stdout: Any) -> None:
    citypark = Organization.objects.filter(slug="citypark").first()
    if citypark is None:
        return
    PayoutAccount.objects.get_or_create(
        organization=citypark,
        defaults={"provider": "sandbox", "account_id": "acct_demo_citypark", "refund_approval_threshold": 10000},
    )
    staff = users["staff@demo.parking"]
    unpaid = Booking.objects.filter(
        organization=citypark,
        status__in=(BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED),
    ).exclude(pk__in=Payment.objects.filter(booking__isnull=False).values("booking_id"))
    for booking in unpaid:
        services.payment_record_cash(booking=booking, actor=staff)
