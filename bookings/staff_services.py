"""Owner/staff booking writes that the driver-facing services do not cover.

Same guarantees as ``bookings.services``: lock order spot rows (primary-key order) → booking row,
bounded lock waits, the one availability selector under the locks, and the ``booking_no_overlap``
exclusion constraint as the last guard.
"""

import uuid

from django.db import IntegrityError, transaction

from accounts.models import User
from app.exceptions import ApplicationError, ConflictError, NotFoundError
from parking import availability
from parking.availability import SpotRequirements
from parking.cache import facility_cache_bump
from parking.models import Spot

from .exceptions import InvalidTransitionError, SpotUnavailableError, VehicleDoesNotFitError
from .models import ACTIVE_STATUSES, Booking
from .services import _is_overlap_violation, _lock_booking, _record, _set_lock_timeout, spot_availability_publish


def _spot_not_in_facility() -> ApplicationError:
    # One answer for a missing spot and another facility's (or organization's) spot: existence is not revealed.
    return ApplicationError("The spot is not in this booking's facility.", code="invalid", attr="spot")


def booking_move(*, booking_id: uuid.UUID, actor: User, spot_id: int, reason: str = "") -> Booking:
    """Move an active booking to another free, compatible spot of the same facility.

    In one transaction: lock both spot rows (primary-key order), then the booking; check the booking
    is active (409 ``invalid_transition``), the target is in the same facility (400 on ``spot``), fits
    the booking's vehicle type (400 ``vehicle_does_not_fit``) and is free for ``[start, end)`` (409
    ``spot_unavailable``); then write and record an event. The price does not change.
    """
    current_spot_id = Booking.objects.filter(pk=booking_id).values_list("spot_id", flat=True).first()
    if current_spot_id is None:
        raise NotFoundError("Booking not found.")
    if current_spot_id == spot_id:
        raise ApplicationError("The booking is already on this spot.", code="invalid", attr="spot")
    try:
        with transaction.atomic():
            _set_lock_timeout()
            spots = {
                spot.pk: spot
                for spot in Spot.objects.select_for_update().filter(pk__in=[current_spot_id, spot_id]).order_by("pk")
            }
            booking = _lock_booking(booking_id)
            if booking.spot_id != current_spot_id:
                # Moved by someone else between the read and the locks: the locks cover the wrong spot.
                raise ConflictError("The booking changed meanwhile; retry.", code="booking_changed")
            if booking.status not in ACTIVE_STATUSES:
                raise InvalidTransitionError(f"A {booking.status} booking cannot be moved.")
            target = spots.get(spot_id)
            if target is None or target.facility_id != booking.facility_id:
                raise _spot_not_in_facility()
            fits = (
                Spot.objects.filter(pk=target.pk)
                .filter(SpotRequirements(vehicle_type=booking.vehicle_type).filter())
                .exists()
            )
            if not fits:
                raise VehicleDoesNotFitError()
            free = (
                availability.spots_free(start=booking.start, end=booking.end, requirements=SpotRequirements())
                .filter(pk=target.pk)
                .exists()
            )
            if not free:
                raise SpotUnavailableError()
            source = spots[current_spot_id]
            booking.spot = target
            booking.zone_id = target.zone_id
            booking.save(update_fields=["spot", "zone", "updated_at"])
            _record(
                booking,
                from_status=booking.status,
                actor=actor,
                reason=f"moved from {source.code} to {target.code}" + (f": {reason}" if reason else ""),
            )
            spot_availability_publish(
                organization_id=booking.organization_id, facility_id=booking.facility_id, spot_id=source.pk
            )
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            raise SpotUnavailableError() from exc
        raise
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking
