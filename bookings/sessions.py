"""Drive-in sessions: a vehicle arrives without a reservation and parks now.

The rule that keeps them from breaking reservations (documented in docs/api.md):

* A session is assigned only a spot that is free for ``[now, now + DRIVE_IN_HORIZON)`` — its next
  reservation starts beyond the horizon. The session row holds exactly that provisional window, so
  the exclusion constraint protects it like any booking.
* While the vehicle is parked (``checked_in``), the session keeps its spot for every window that starts
  before ``now + DRIVE_IN_HORIZON`` even after the provisional end has passed (``bookings.occupancy``):
  a car that is physically there is never double-booked by a reservation starting soon.
* Closing the session sets the real end and prices the actual duration with the facility's rule.
"""

import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from app.exceptions import ApplicationError, ConflictError
from parking import availability
from parking.availability import SpotRequirements
from parking.cache import facility_cache_bump
from parking.models import Facility, Spot
from pricing.engine import PricingContext, quote_stay
from pricing.exceptions import NoApplicableRuleError, from_engine
from pricing.fees import fee_breakdown
from pricing.schemas import PricingError
from pricing.selectors import fee_policy_for, rule_select, rules_for_facilities
from vehicles.models import VehicleType
from vehicles.plates import normalize_plate, plate_blind_index

from .exceptions import SpotUnavailableError
from .horizon import drive_in_horizon
from .models import Booking, BookingKind, BookingSource, BookingStatus
from .services import (
    _is_overlap_violation,
    _lock_booking,
    _record,
    _set_lock_timeout,
    _transition,
    new_reference,
)


class SessionAlreadyOpenError(ConflictError):
    code = "session_already_open"
    default_message = "This vehicle already has an open session at this facility."


_SIZE_RANK = {"small": 0, "medium": 1, "large": 2, "xlarge": 3}
_CATEGORY_RANK = {"motorcycle": 0, "standard": 1, "vip": 2, "ev": 3, "accessible": 4}


def session_open(
    *,
    actor: User | None,
    facility: Facility,
    plate: str,
    vehicle_type: str,
    source: str = BookingSource.STAFF,
    now: datetime | None = None,
) -> Booking:
    """Open a drive-in session now on the best-fit spot free for the horizon (see module docstring).

    Raises SessionAlreadyOpenError (409) for a plate already parked here, SpotUnavailableError (409)
    when no compatible spot is free for the horizon, and 400 on ``plate`` for an invalid plate.
    """
    if vehicle_type not in VehicleType.values:
        raise ApplicationError("Unknown vehicle type.", code="invalid_choice", attr="vehicle_type")
    normalized = normalize_plate(plate)
    index = plate_blind_index(normalized)
    now = now or timezone.now()
    end = now + drive_in_horizon()
    requirements = SpotRequirements(vehicle_type=vehicle_type)
    try:
        with transaction.atomic():
            _set_lock_timeout()
            if Booking.objects.filter(
                facility=facility, plate_index=index, kind=BookingKind.DRIVE_IN, status=BookingStatus.CHECKED_IN
            ).exists():
                raise SessionAlreadyOpenError()
            candidates = sorted(
                availability.spots_free(start=now, end=end, requirements=requirements).filter(facility=facility),
                key=lambda s: (_SIZE_RANK[s.size], _CATEGORY_RANK.get(s.category, 5), s.code, s.pk),
            )
            spot = None
            for candidate in candidates:
                locked = Spot.objects.select_for_update(skip_locked=True).filter(pk=candidate.pk).first()
                if (
                    locked is not None
                    and availability.spots_free(start=now, end=end, requirements=requirements)
                    .filter(pk=locked.pk)
                    .exists()
                ):
                    spot = locked
                    break
            if spot is None:
                raise SpotUnavailableError("No compatible spot is free for the drive-in horizon.")
            booking = Booking.objects.create(
                reference=new_reference(),
                kind=BookingKind.DRIVE_IN,
                source=source,
                vehicle_type=vehicle_type,
                plate=normalized,
                plate_index=index,
                organization_id=facility.organization_id,
                facility=facility,
                zone_id=spot.zone_id,
                spot=spot,
                start=now,
                end=end,
                checked_in_at=now,
                status=BookingStatus.CHECKED_IN,
                currency=facility.currency,
                parking_amount=0,
                service_fee=0,
                transaction_fee=0,
                total=0,
                owner_payout=0,
                platform_revenue=0,
            )
            _record(booking, from_status="", actor=actor, reason="drive-in")
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            raise SpotUnavailableError() from exc
        raise
    transaction.on_commit(lambda: facility_cache_bump(facility.pk))
    return booking


def session_end(*, booking_id: uuid.UUID, actor: User | None, at: datetime | None = None) -> Booking:
    """Close a drive-in session: the real end is ``at`` and the fee is the facility's rule for the
    actual duration (with the fee policy). Raises InvalidTransitionError (409) if it is not open."""
    at = at or timezone.now()
    with transaction.atomic():
        _set_lock_timeout()
        booking = _lock_booking(booking_id)
        if booking.kind != BookingKind.DRIVE_IN:
            raise ApplicationError(
                "Only drive-in sessions are ended this way; check out instead.", code="not_a_session", http_status=409
            )
        previous = _transition(booking, BookingStatus.COMPLETED)
        end = max(at, booking.start + timedelta(minutes=1))
        rule = rule_select(
            rules_for_facilities([booking.facility_id]),
            facility_id=booking.facility_id,
            zone_id=booking.zone_id,
            spot_id=booking.spot_id,
            vehicle_type=booking.vehicle_type,
            spot_category=booking.spot.category,
            at=booking.start,
        )
        if rule is None:
            raise NoApplicableRuleError()
        try:
            priced = quote_stay(
                strategy=rule.strategy,
                config=rule.config,
                start=booking.start,
                end=end,
                time_zone=booking.facility.timezone,
                context=PricingContext(vehicle_type=booking.vehicle_type, spot_category=booking.spot.category),
                rule_name=rule.name,
            )
        except PricingError as exc:
            raise from_engine(exc) from exc
        percent, fee = fee_policy_for(booking.organization_id)
        fees = fee_breakdown(parking_amount=priced.parking_amount, service_fee_percent=percent, transaction_fee=fee)
        booking.end = end
        booking.checked_out_at = at
        booking.parking_amount = fees.parking_amount
        booking.service_fee = fees.service_fee
        booking.transaction_fee = fees.transaction_fee
        booking.total = fees.total
        booking.owner_payout = fees.owner_payout
        booking.platform_revenue = fees.platform_revenue
        booking.quote_snapshot = {
            "line_items": priced.line_items_as_dicts(),
            "explanation": priced.explanation,
            "applied_rule": rule.name,
        }
        booking.save()
        _record(booking, from_status=previous, actor=actor, reason="session ended")
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking
