from typing import Any

from django.db.models import Prefetch, QuerySet

from accounts.models import Organization, User
from accounts.selectors import MANAGER_ROLES, organization_get
from app.exceptions import NotFoundError

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def organization_for_webhooks(*, actor: User, organization_id: Any) -> Organization:
    """Owners and managers manage their organization's webhooks (staff: 403, others: 404)."""
    return organization_get(actor=actor, organization_id=organization_id, roles=MANAGER_ROLES)


def endpoint_get(*, organization: Organization, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(organization=organization, pk=endpoint_id).first()
    if endpoint is None:
        raise NotFoundError("Webhook endpoint not found.")
    return endpoint


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("attempted_at", "id"))
    ).order_by("-created_at", "-id")


def delivery_get(*, endpoint: WebhookEndpoint, delivery_id: Any) -> WebhookDelivery:
    delivery = endpoint.deliveries.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFoundError("Delivery not found.")
    return delivery
