"""Reads for enforcement, always scoped: staff see their organizations' violations and disputes;
drivers see violations issued to them, on their bookings, or on a plate of one of their vehicles."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import ApplicationError, NotFoundError
from bookings.models import Booking
from parking.models import Spot
from vehicles.models import Vehicle

from .models import Dispute, EnforcementCheck, Violation, ViolationEvidence


def _with_details(queryset: QuerySet[Violation]) -> QuerySet[Violation]:
    return queryset.select_related("facility", "spot", "booking").prefetch_related(
        Prefetch("evidence", queryset=ViolationEvidence.objects.order_by("created_at", "id")),
        Prefetch("disputes", queryset=Dispute.objects.order_by("created_at", "id")),
    )


def violation_list_for_staff(*, actor: User) -> QuerySet[Violation]:
    return _with_details(Violation.objects.filter(organization_id__in=organization_ids_for(actor=actor)))


def violation_get_for_staff(*, actor: User, violation_id: Any) -> Violation:
    violation = violation_list_for_staff(actor=actor).filter(pk=violation_id).first()
    if violation is None:
        raise NotFoundError("Violation not found.")
    return violation


def violation_list_for_driver(*, driver: User) -> QuerySet[Violation]:
    plates = Vehicle.objects.filter(owner=driver).exclude(plate_index="").values_list("plate_index", flat=True)
    own = Q(driver=driver) | Q(booking__driver=driver) | Q(plate_index__in=plates, driver__isnull=True)
    return _with_details(Violation.objects.filter(own))


def violation_get_for_driver(*, driver: User, violation_id: Any) -> Violation:
    violation = violation_list_for_driver(driver=driver).filter(pk=violation_id).first()
    if violation is None:
        raise NotFoundError("Violation not found.")
    return violation


def dispute_list_for_staff(*, actor: User) -> QuerySet[Dispute]:
    return Dispute.objects.filter(violation__organization_id__in=organization_ids_for(actor=actor)).select_related(
        "violation"
    )


def dispute_get_for_staff(*, actor: User, dispute_id: Any) -> Dispute:
    dispute = dispute_list_for_staff(actor=actor).filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFoundError("Dispute not found.")
    return dispute


def _field_error(message: str, attr: str) -> ApplicationError:
    # One answer for a missing object and another organization's: existence is not revealed.
    return ApplicationError(message, code="invalid", attr=attr)


def check_for_facility(*, facility_id: int, check_id: int) -> EnforcementCheck:
    check = EnforcementCheck.objects.filter(pk=check_id, facility_id=facility_id).first()
    if check is None:
        raise _field_error("No such enforcement check at this facility.", "check")
    return check


def spot_for_facility(*, facility_id: int, spot_id: int) -> Spot:
    spot = Spot.objects.filter(pk=spot_id, facility_id=facility_id).first()
    if spot is None:
        raise _field_error("The spot is not in this facility.", "spot")
    return spot


def booking_for_facility(*, facility_id: int, reference: str) -> Booking:
    booking = Booking.objects.filter(reference=reference.upper(), facility_id=facility_id).first()
    if booking is None:
        raise _field_error("No such booking at this facility.", "booking")
    return booking
