import uuid

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import NotFoundError

from .models import Booking


def booking_list_for_driver(*, driver: User) -> QuerySet[Booking]:
    return Booking.objects.filter(driver=driver).select_related("facility", "zone", "spot").order_by("-start", "pk")


def booking_list_visible(*, actor: User) -> QuerySet[Booking]:
    """Bookings the actor made as a driver plus the bookings of every organization they are a member
    of (any role), newest start first."""
    scope = Q(driver=actor) | Q(organization_id__in=organization_ids_for(actor=actor))
    return Booking.objects.filter(scope).select_related("facility", "zone", "spot").order_by("-start", "pk")


def booking_get_visible(*, actor: User, booking_id: uuid.UUID | str) -> Booking:
    """One of :func:`booking_list_visible`; anything else is 404."""
    try:
        return booking_list_visible(actor=actor).get(pk=booking_id)
    except (Booking.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Booking not found.") from exc


def booking_get_for_driver(*, driver: User, booking_id: uuid.UUID | str) -> Booking:
    """A driver's own booking; anyone else's is 404."""
    try:
        return booking_list_for_driver(driver=driver).get(pk=booking_id)
    except (Booking.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Booking not found.") from exc


# ---------------------------------------------------------------------------- organization (owner/staff) reads


def booking_list_for_organization(*, actor: User, organization_id: uuid.UUID | str) -> QuerySet[Booking]:
    """Bookings of one of the actor's organizations (any member role), by start.

    The caller checks membership first (``accounts.selectors.organization_get``) so another
    organization is 404 rather than an empty list; the filter here keeps the scope even without it.
    """
    return (
        Booking.objects.filter(organization_id=organization_id, organization_id__in=organization_ids_for(actor=actor))
        .select_related("facility", "zone", "spot")
        .order_by("start", "pk")
    )


def booking_get_for_organization(
    *, actor: User, organization_id: uuid.UUID | str, booking_id: uuid.UUID | str
) -> Booking:
    """A booking of one of the actor's organizations; any other booking is 404."""
    try:
        return booking_list_for_organization(actor=actor, organization_id=organization_id).get(pk=booking_id)
    except (Booking.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Booking not found.") from exc
