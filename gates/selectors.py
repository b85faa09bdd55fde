from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import NotFoundError

from .models import Gate, GateAlert, GateEvent, ManualReview


def gate_list_managed(*, actor: User) -> QuerySet[Gate]:
    """The actor's gates with ``offline_since`` (the start of the open outage alert, if any): the status board."""
    open_alert = GateAlert.objects.filter(gate=OuterRef("pk"), ended_at__isnull=True).values("started_at")[:1]
    return (
        Gate.objects.filter(organization_id__in=organization_ids_for(actor=actor))
        .select_related("facility")
        .annotate(offline_since=Subquery(open_alert))
    )


def gate_get_managed(*, actor: User, gate_id: int) -> Gate:
    gate = gate_list_managed(actor=actor).filter(pk=gate_id).first()
    if gate is None:
        raise NotFoundError("Gate not found.")
    return gate


def gate_event_list_managed(*, actor: User) -> QuerySet[GateEvent]:
    return (
        GateEvent.objects.filter(organization_id__in=organization_ids_for(actor=actor))
        .select_related("gate", "booking__spot", "booking__zone")
        .order_by("-occurred_at", "pk")
    )


def review_list_managed(*, actor: User) -> QuerySet[ManualReview]:
    return (
        ManualReview.objects.filter(event__organization_id__in=organization_ids_for(actor=actor))
        .select_related("event__gate", "event__booking__spot", "event__booking__zone")
        .order_by("-created_at", "pk")
    )


def review_get_managed(*, actor: User, review_id: int) -> ManualReview:
    review = review_list_managed(actor=actor).filter(pk=review_id).first()
    if review is None:
        raise NotFoundError("Review item not found.")
    return review
