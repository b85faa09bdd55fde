"""Reads, always scoped by the actor: drivers see their own payments; members of an organization
(any role) see its payments, refunds and payouts. Anything else is 404."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import ApplicationError, NotFoundError
from bookings.models import Booking
from pricing.models import PassProduct
from vehicles.models import Vehicle

from .models import Payment, Payout, Refund


def payment_list_visible(*, actor: User) -> QuerySet[Payment]:
    scope = Q(driver=actor) | Q(organization_id__in=organization_ids_for(actor=actor))
    return Payment.objects.filter(scope).select_related("booking").order_by("-created_at", "pk")


def payment_get_visible(*, actor: User, payment_id: uuid.UUID | str) -> Payment:
    try:
        return payment_list_visible(actor=actor).get(pk=payment_id)
    except (Payment.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Payment not found.") from exc


def payment_get_for_driver(*, driver: User, payment_id: uuid.UUID | str) -> Payment:
    try:
        return Payment.objects.select_related("booking").get(pk=payment_id, driver=driver)
    except (Payment.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Payment not found.") from exc


def payment_get_for_member(*, actor: User, payment_id: uuid.UUID | str) -> Payment:
    """A payment of one of the actor's organizations (staff actions: refunds)."""
    try:
        return Payment.objects.select_related("booking").get(
            pk=payment_id, organization_id__in=organization_ids_for(actor=actor)
        )
    except (Payment.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Payment not found.") from exc


def refund_get_for_member(*, actor: User, refund_id: uuid.UUID | str) -> Refund:
    try:
        return Refund.objects.select_related("payment").get(
            pk=refund_id, payment__organization_id__in=organization_ids_for(actor=actor)
        )
    except (Refund.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Refund not found.") from exc


def payout_list_visible(*, actor: User) -> QuerySet[Payout]:
    return Payout.objects.filter(organization_id__in=organization_ids_for(actor=actor)).order_by("-created_at", "pk")


def _field_error(message: str, attr: str) -> ApplicationError:
    """A foreign id in a request body: 400 on the field (ARCHITECTURE §4), never a hint it exists."""
    return ApplicationError(message, code="does_not_exist", attr=attr)


def payment_get_razorpay_order(*, driver: User, order_id: str) -> Payment:
    """The driver's own Razorpay payment for ``order_id`` (400 on ``razorpay_order_id`` otherwise)."""
    payment = Payment.objects.filter(provider="razorpay", provider_payment_id=order_id, driver=driver).first()
    if payment is None:
        raise _field_error("No such Razorpay order among your payments.", "razorpay_order_id")
    return payment


def booking_get_for_cash(*, actor: User, booking_id: uuid.UUID | str) -> Booking:
    """A booking of one of the actor's organizations (staff taking cash); 400 on ``booking`` otherwise."""
    booking = Booking.objects.filter(pk=booking_id, organization_id__in=organization_ids_for(actor=actor)).first()
    if booking is None:
        raise _field_error("No such booking in your organizations.", "booking")
    return booking


def pass_product_for_sale(*, product_id: int) -> PassProduct:
    product = PassProduct.objects.select_related("facility").filter(pk=product_id, facility__is_published=True).first()
    if product is None:
        raise _field_error("No such pass on sale.", "product")
    return product


def vehicle_get_own(*, driver: User, vehicle_id: uuid.UUID | str) -> Vehicle:
    vehicle = Vehicle.objects.filter(pk=vehicle_id, owner=driver).first()
    if vehicle is None:
        raise _field_error("No such vehicle among yours.", "vehicle")
    return vehicle
