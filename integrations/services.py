"""Outgoing webhooks: endpoints, deliveries from domain events, signed sending with retries.

A delivery row is written in the transaction of the change that raised the event (``on_event``, an
``app.events`` sink), so it exists exactly when the change commits; a task sends it after commit and
the every-minute beat job sends whatever is due (broker down, receiver failing). Sending locks the
delivery row (``SKIP LOCKED``), so two workers never send the same delivery at once; a delivery that
succeeded is never sent again, and receivers de-duplicate by the event id in ``X-Webhook-Id``.
Retries back off 1, 2, 4 … minutes (at most 6 h apart) and stop after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import socket
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from app.events import EVENT_TYPES, DomainEvent
from app.exceptions import ApplicationError

from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_secret
from .signing import signature_header

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10
MAX_BACKOFF = timedelta(hours=6)
USER_AGENT = "parking-platform-webhooks/1"


# ---------------------------------------------------------------------------- endpoints


def _cache_key(organization_id: Any) -> str:
    return f"integrations:endpoints:{organization_id}"


def _forget(organization_id: Any) -> None:
    transaction.on_commit(lambda: cache.delete(_cache_key(organization_id)))


def _validate(data: dict[str, Any]) -> None:
    if "url" in data:
        parts = urlsplit(data["url"])
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (settings.DEBUG and local):
            raise ApplicationError("Webhook endpoints must use https.", code="invalid", attr="url")
    if "event_types" in data:
        types = data["event_types"]
        unknown = sorted(set(types) - set(EVENT_TYPES))
        if not types or unknown:
            raise ApplicationError(
                f"Choose event types among {', '.join(EVENT_TYPES)}"
                + (f" (unknown: {', '.join(unknown)})." if unknown else "."),
                code="invalid",
                attr="event_types",
            )


def endpoint_create(*, organization: Organization, actor: User, data: dict[str, Any]) -> WebhookEndpoint:
    _validate(data)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization=organization,
            created_by=actor,
            url=data["url"],
            description=data.get("description", ""),
            event_types=sorted(set(data["event_types"])),
            is_active=data.get("is_active", True),
        )
        _forget(organization.pk)
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
    _validate(data)
    with transaction.atomic():
        for field in ("url", "description", "is_active"):
            if field in data:
                setattr(endpoint, field, data[field])
        if "event_types" in data:
            endpoint.event_types = sorted(set(data["event_types"]))
        endpoint.save()
        _forget(endpoint.organization_id)
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        organization_id = endpoint.organization_id
        endpoint.delete()
        _forget(organization_id)


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


# ---------------------------------------------------------------------------- events → deliveries


def _subscriptions(organization_id: str) -> list[tuple[int, list[str]]]:
    """The organization's active endpoints and their event types (cached; forgotten on change)."""
    key = _cache_key(organization_id)
    cached = cache.get(key)
    if cached is None:
        cached = [
            (endpoint_id, types)
            for endpoint_id, types in WebhookEndpoint.objects.filter(
                organization_id=organization_id, is_active=True
            ).values_list("id", "event_types")
        ]
        cache.set(key, cached, 300)
    return cached


def on_event(event: DomainEvent) -> None:
    """``app.events`` sink (inside the change's transaction): one delivery per subscribed endpoint."""
    if event.organization_id is None:
        return
    now = timezone.now()
    for endpoint_id, types in _subscriptions(event.organization_id):
        if event.type not in types:
            continue
        delivery = WebhookDelivery.objects.create(
            endpoint_id=endpoint_id,
            organization_id=event.organization_id,
            event_id=event.id,
            event_type=event.type,
            payload=event.envelope(),
            next_attempt_at=now,
        )
        transaction.on_commit(functools.partial(_kick, delivery.pk))


def _kick(delivery_id: int) -> None:
    from .tasks import delivery_send_task

    try:
        delivery_send_task.delay(delivery_id)
    except Exception:
        logger.warning(
            "webhooks: could not queue delivery %s; the dispatch job will send it", delivery_id, exc_info=True
        )


# ---------------------------------------------------------------------------- sending


class UnsafeDestinationError(Exception):
    pass


def _check_destination(url: str) -> None:
    """Refuse receivers on private, loopback or link-local addresses (SSRF), unless allowed."""
    if settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise UnsafeDestinationError(f"cannot resolve {host}") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise UnsafeDestinationError(f"{host} resolves to a non-public address")


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


def delivery_send(delivery_id: int, *, now: datetime | None = None) -> bool:
    """Send one due, pending delivery (skipped when another worker holds it). True when it succeeded."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return False
        endpoint = delivery.endpoint
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Webhook-Id": delivery.event_id,
            "X-Webhook-Event": delivery.event_type,
            "X-Webhook-Signature": signature_header(secret=endpoint.secret, body=body),
        }
        started = time.monotonic()
        status_code, error = None, ""
        try:
            _check_destination(endpoint.url)
            response = requests.post(
                endpoint.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except (requests.RequestException, UnsafeDestinationError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            error=error[:500],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = status_code, error[:500]
        if not error:
            delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            logger.error("webhooks: delivery %s to %s gave up: %s", delivery.pk, endpoint.url, error)
        else:
            delivery.next_attempt_at = now + _backoff(delivery.attempts)
        delivery.save()
    return not error


def deliveries_dispatch(*, batch_size: int = 100, now: datetime | None = None) -> dict[str, int]:
    """Send due deliveries (a beat job): oldest first, each in its own transaction."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:batch_size]
    )
    sent = sum(1 for delivery_id in due if delivery_send(delivery_id, now=now))
    return {"due": len(due), "succeeded": sent}


def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a failed (given up) or pending delivery again now, with a fresh set of attempts."""
    if delivery.status == DeliveryStatus.SUCCEEDED:
        raise ApplicationError("This delivery already succeeded.", code="invalid_transition", http_status=409)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    transaction.on_commit(functools.partial(_kick, delivery.pk))
    delivery.refresh_from_db()
    return delivery
