import uuid

from django.db.models import QuerySet

from accounts.models import User
from app.exceptions import NotFoundError

from .models import Booking


def booking_list_for_driver(*, driver: User) -> QuerySet[Booking]:
    return Booking.objects.filter(driver=driver).select_related("facility", "zone", "spot").order_by("-start", "pk")


def booking_get_for_driver(*, driver: User, booking_id: uuid.UUID | str) -> Booking:
    """A driver's own booking; anyone else's is 404."""
    try:
        return booking_list_for_driver(driver=driver).get(pk=booking_id)
    except (Booking.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Booking not found.") from exc
