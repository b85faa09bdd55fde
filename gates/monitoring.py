"""Gate offline detection (a beat job) and outage alerts.

A gate that has not polled for ``GATE_OFFLINE_MINUTES`` becomes ``offline`` and gets an open
``GateAlert``; the organization's members are emailed once per outage (``notified_at``). The next
poll marks the gate online and closes the alert (gates.services.gate_poll). Idempotent, several
workers safe (``SKIP LOCKED``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from app.events import event_publish

from .models import Gate, GateAlert, GateStatus

logger = logging.getLogger(__name__)


def gates_mark_offline(*, now: datetime | None = None, batch_size: int = 200) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.GATE_OFFLINE_MINUTES)
    marked: list[GateAlert] = []
    with transaction.atomic():
        stale = list(
            Gate.objects.select_for_update(skip_locked=True)
            .filter(status=GateStatus.ONLINE, last_seen_at__lt=cutoff)
            .select_related("facility")[:batch_size]
        )
        for gate in stale:
            gate.status = GateStatus.OFFLINE
            gate.save(update_fields=["status"])
            gate_status_publish(gate, now)
            alert, _ = GateAlert.objects.get_or_create(
                gate=gate, kind="offline", ended_at=None, defaults={"started_at": gate.last_seen_at or now}
            )
            marked.append(alert)
    for alert in marked:
        _notify(alert)
    return len(marked)


def _notify(alert: GateAlert) -> None:
    """Email the gate's organization members once per outage."""
    with transaction.atomic():
        locked = (
            GateAlert.objects.select_for_update(skip_locked=True).filter(pk=alert.pk, notified_at__isnull=True).first()
        )
        if locked is None:
            return
        gate = Gate.objects.select_related("facility").get(pk=locked.gate_id)
        recipients = sorted(
            set(
                Membership.objects.filter(organization_id=gate.organization_id)
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
        if recipients:
            send_mail(
                subject=f"Gate offline: {gate.name} at {gate.facility.name}",
                message=(
                    f"The gate {gate.name} ({gate.lane or 'no lane'}) at {gate.facility.name} has not contacted the "
                    f"platform since {locked.started_at:%Y-%m-%d %H:%M} UTC. It keeps deciding from its offline "
                    "snapshot and uploads what it saw when it is back.\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        locked.notified_at = timezone.now()
        locked.save(update_fields=["notified_at"])


def gate_alerts_close(*, gate: Gate, now: datetime) -> None:
    GateAlert.objects.filter(gate=gate, ended_at__isnull=True).update(ended_at=now)


def gate_status_publish(gate: Gate, at: datetime) -> None:
    """``gate.status`` to the gate's organization (webhooks, live dashboard)."""
    event_publish(
        "gate.status",
        {"gate": gate.pk, "facility": gate.facility_id, "status": gate.status, "at": at.isoformat()},
        organization_id=gate.organization_id,
    )
