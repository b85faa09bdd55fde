"""The enforcement beat jobs: release no-shows, detect overstays; plus the overstay price adjustment.

Every job is idempotent (a second run finds nothing left to do), safe with several workers (the
candidate bookings are locked with ``FOR UPDATE SKIP LOCKED``: a booking another worker holds is left
to it), bounded per run (``batch_size``) and returns its counts (recorded as a job run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Booking, BookingKind, BookingStatus, OutboxKind, OutboxMessage
from bookings.outbox import outbox_enqueue_once

from .models import PenaltyPolicy, Violation, ViolationKind
from .violations import violation_issue

logger = logging.getLogger(__name__)

MINUTE = Value(timedelta(minutes=1))


def _after(start: str, minutes: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(start) + F(minutes) * MINUTE, output_field=DateTimeField())


def release_no_shows(*, now: datetime | None = None, batch_size: int = 200) -> dict[str, int]:
    """``confirmed`` reservations not checked in when start + the facility's arrival grace has passed
    (strictly: at exactly the grace the driver may still arrive) → ``no_show``, fee settled by payments,
    driver emailed once."""
    now = now or timezone.now()
    released = failed = 0
    with transaction.atomic():
        due = list(
            Booking.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=BookingStatus.CONFIRMED, kind=BookingKind.RESERVATION)
            .alias(deadline=_after("start", "facility__reservation_grace_minutes"))
            .filter(deadline__lt=now)
            .order_by("start", "id")
            .values_list("pk", flat=True)[:batch_size]
        )
        for booking_id in due:
            with _one(booking_id, "release") as ok:
                if booking_services.booking_mark_no_show(booking_id=booking_id, at=now) is not None:
                    released += 1
            failed += not ok.value
    if released:
        logger.info("enforcement: released %s no-show bookings", released)
    return {"released": released, "failed": failed}


class _Outcome:
    value = True


@contextmanager
def _one(booking_id: object, what: str) -> Iterator[_Outcome]:
    """One booking's work in its own savepoint: a failure is logged and rolled back for this booking
    only (it is tried again next run) instead of failing the whole batch."""
    outcome = _Outcome()
    try:
        with transaction.atomic():
            yield outcome
    except Exception:
        logger.exception("enforcement: %s failed for booking %s", what, booking_id)
        outcome.value = False


def detect_overstays(*, now: datetime | None = None, batch_size: int = 200) -> dict[str, int]:
    """Parked cars (``checked_in`` reservations) past end + the facility's overstay grace: the driver
    is emailed once; once the overstay passes the penalty policy's ``overstay_violation_after_minutes``
    an ``overstay`` violation (fine: the policy's, else 0 — the overstay itself is charged at exit) is
    issued once per booking. The overstay charge accrues and is priced at check-out."""
    now = now or timezone.now()
    notified = issued = failed = 0
    noticed = OutboxMessage.objects.filter(booking=OuterRef("pk"), kind=OutboxKind.OVERSTAY)
    violated = Violation.objects.filter(booking=OuterRef("pk"), kind=ViolationKind.OVERSTAY)
    with transaction.atomic():
        candidates = list(
            Booking.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=BookingStatus.CHECKED_IN, kind=BookingKind.RESERVATION)
            .alias(
                grace_end=_after("end", "facility__overstay_grace_minutes"),
                limit=ExpressionWrapper(
                    F("grace_end") + F("facility__penalty_policy__overstay_violation_after_minutes") * MINUTE,
                    output_field=DateTimeField(),
                ),
                noticed=Exists(noticed),
                violated=Exists(violated),
            )
            .filter(grace_end__lt=now)
            .filter(Q(noticed=False) | Q(limit__lt=now, violated=False))
            .select_related("facility", "driver", "vehicle", "spot")
            .order_by("end", "id")[:batch_size]
        )
        for booking in candidates:
            with _one(booking.pk, "overstay detection") as ok:
                noticed_now = outbox_enqueue_once(kind=OutboxKind.OVERSTAY, booking=booking) is not None
                issued_now = _issue_overstay_violation(booking, now)
            if ok.value:
                notified += noticed_now
                issued += issued_now
            failed += not ok.value
    return {"notified": notified, "violations": issued, "failed": failed}


def _issue_overstay_violation(booking: Booking, now: datetime) -> bool:
    policy = PenaltyPolicy.objects.filter(facility_id=booking.facility_id).first()
    if policy is None or policy.overstay_violation_after_minutes is None:
        return False
    limit = booking.end + timedelta(
        minutes=booking.facility.overstay_grace_minutes + policy.overstay_violation_after_minutes
    )
    if now <= limit or Violation.objects.filter(booking=booking, kind=ViolationKind.OVERSTAY).exists():
        return False
    fine = policy.fines.get(ViolationKind.OVERSTAY, 0)
    violation_issue(
        actor=None,
        facility=booking.facility,
        kind=ViolationKind.OVERSTAY,
        plate=booking.plate,
        booking=booking,
        fine_amount=fine if isinstance(fine, int) and fine >= 0 else 0,
        notes=f"Still parked {int((now - booking.end).total_seconds() // 60)} minutes after the booking ended.",
        at=now,
    )
    return True


def overstay_adjust(booking: Booking, amount: int, at: datetime) -> int:
    """``bookings.events`` overstay adjuster: the penalty policy caps the overstay charge at
    ``overstay_daily_cap`` per started 24 hours past the end and adds ``overstay_admin_fee`` once."""
    if amount <= 0:
        return amount
    policy = PenaltyPolicy.objects.filter(facility_id=booking.facility_id).first()
    if policy is None:
        return amount
    if policy.overstay_daily_cap is not None:
        started_days = -(-int((at - booking.end).total_seconds()) // 86400)
        amount = min(amount, policy.overstay_daily_cap * started_days)
    return amount + policy.overstay_admin_fee
