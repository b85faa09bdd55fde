"""Reads. Every selector is scoped by the owner: another driver's vehicle does not exist (404)."""

from uuid import UUID

from django.db.models import QuerySet

from accounts.models import User
from app.exceptions import NotFoundError

from .models import Vehicle


def vehicle_list(*, owner: User) -> QuerySet[Vehicle]:
    """The owner's vehicles, newest first (``id`` breaks ties so pages are stable)."""
    return Vehicle.objects.filter(owner=owner).order_by("-created_at", "-id")


def vehicle_get(*, owner: User, vehicle_id: UUID) -> Vehicle:
    """The owner's vehicle ``vehicle_id``; ``NotFoundError`` if it does not exist or is someone else's."""
    try:
        return Vehicle.objects.get(owner=owner, pk=vehicle_id)
    except Vehicle.DoesNotExist:
        raise NotFoundError("Vehicle not found.") from None


def vehicle_plate_taken(*, owner: User, plate_index: str, exclude_id: UUID | None = None) -> bool:
    """Whether ``owner`` already has a vehicle with this blind index (other than ``exclude_id``)."""
    vehicles = Vehicle.objects.filter(owner=owner, plate_index=plate_index)
    if exclude_id is not None:
        vehicles = vehicles.exclude(pk=exclude_id)
    return vehicles.exists()
