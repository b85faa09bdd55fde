"""Enforcement checks: may this plate be parked here now? Every check writes an immutable row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User
from bookings.models import Booking, BookingKind, BookingStatus
from parking.models import Facility
from pricing import selectors as pricing_selectors
from vehicles.models import Vehicle
from vehicles.plates import normalize_plate, plate_blind_index

from .models import CheckOutcome, EnforcementCheck


def grace_for(facility: Facility) -> timedelta:
    """The facility's overstay grace (its own policy field)."""
    return timedelta(minutes=facility.overstay_grace_minutes)


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    outcome: str
    valid_until: datetime | None
    booking: Booking | None
    check: EnforcementCheck


def enforcement_check(*, actor: User, facility: Facility, plate: str, at: datetime | None = None) -> CheckResult:
    """Whether ``plate`` may be parked at ``facility`` at ``at`` (default now), in this order: an open
    drive-in session, a booking whose window (early check-in … end) holds ``at`` (or a parked car),
    a pass valid now, a booking that ended less than the grace ago; otherwise nothing. ``valid_until``
    includes the grace. Raises ``InvalidPlateError`` (400 on ``plate``) for an unreadable plate."""
    at = at or timezone.now()
    index = plate_blind_index(normalize_plate(plate))
    grace = grace_for(facility)
    early = timedelta(minutes=facility.early_checkin_minutes)
    bookings = Booking.objects.filter(facility=facility, plate_index=index)
    outcome, until, booking = CheckOutcome.NOTHING, None, None

    session = bookings.filter(kind=BookingKind.DRIVE_IN, status=BookingStatus.CHECKED_IN).first()
    current = (
        bookings.filter(
            status__in=(BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN), start__lte=at + early, end__gt=at
        )
        .exclude(kind=BookingKind.DRIVE_IN)
        .order_by("end")
        .last()
    )
    if session is not None:
        outcome, booking = CheckOutcome.DRIVE_IN, session
    elif current is not None:
        outcome, until, booking = CheckOutcome.BOOKING, current.end + grace, current
    elif (covered := _pass_until(facility, index, at)) is not None:
        outcome, until = CheckOutcome.PASS, covered
    else:
        recent = (
            bookings.filter(status__in=(BookingStatus.CHECKED_IN, BookingStatus.CONFIRMED, BookingStatus.COMPLETED))
            .filter(end__lte=at, end__gt=at - grace)
            .order_by("end")
            .last()
        )
        if recent is not None:
            outcome, until, booking = CheckOutcome.GRACE, recent.end + grace, recent
    check = EnforcementCheck.objects.create(
        organization_id=facility.organization_id,
        facility=facility,
        checked_by=actor,
        plate_index=index,
        checked_at=at,
        allowed=outcome != CheckOutcome.NOTHING,
        outcome=outcome,
        valid_until=until,
        booking=booking,
    )
    return CheckResult(allowed=check.allowed, outcome=outcome, valid_until=until, booking=booking, check=check)


def _pass_until(facility: Facility, plate_index: str, at: datetime) -> datetime | None:
    """The end of the pass coverage that holds ``at`` (at most a day ahead is looked at)."""
    for vehicle in Vehicle.objects.filter(plate_index=plate_index).select_related("owner"):
        covered = pricing_selectors.pass_coverage(
            driver=vehicle.owner,
            facility=facility,
            vehicle_id=vehicle.pk,
            vehicle_type=vehicle.vehicle_type,
            start=at,
            end=at + timedelta(days=1),
        )
        for start, end in covered:
            if start <= at < end:
                return end
    return None
