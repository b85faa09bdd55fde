"""Reads, always scoped by the actor: drivers see their own payments; members of an organization
(any role) see its payments, refunds and payouts. Anything else is 404."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import NotFoundError

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
