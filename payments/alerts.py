"""Payment alerts for organizations' managers (a beat job, every 5 minutes): a failure rate above
``PAYMENT_FAILURE_ALERT_RATE`` over the last hour (with at least ``PAYMENT_FAILURE_ALERT_MIN_PAYMENTS``
payments decided), and every unresolved reconciliation mismatch. An alert is opened once (database
unique), emailed once to the owners and managers, shown on the dashboard while open, and closed when
the rate drops again or the mismatch is resolved. Idempotent: a second run changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import MANAGER_ROLES

from .models import AlertKind, Payment, PaymentAlert, PaymentStatus, ReconciliationMismatch

WINDOW = timedelta(hours=1)


def alerts_check(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    opened = closed = 0
    rates = (
        Payment.objects.filter(updated_at__gte=now - WINDOW, status__in=(PaymentStatus.SUCCEEDED, PaymentStatus.FAILED))
        .values("organization_id")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(status=PaymentStatus.FAILED)))
    )
    alarming = set()
    for row in rates:
        rate = row["failed"] / row["total"]
        if row["total"] >= settings.PAYMENT_FAILURE_ALERT_MIN_PAYMENTS and rate >= settings.PAYMENT_FAILURE_ALERT_RATE:
            alarming.add(row["organization_id"])
            detail = f"{row['failed']} of {row['total']} payments failed in the last hour ({rate:.0%})."
            opened += _open(row["organization_id"], AlertKind.FAILURE_RATE, detail, now)
    closed += (
        PaymentAlert.objects.filter(kind=AlertKind.FAILURE_RATE, closed_at__isnull=True)
        .exclude(organization_id__in=alarming)
        .update(closed_at=now)
    )
    for mismatch in ReconciliationMismatch.objects.filter(resolved_at__isnull=True, alert__isnull=True).select_related(
        "payment"
    ):
        detail = f"Payment {mismatch.payment_id}: {mismatch.detail}"
        opened += _open(mismatch.payment.organization_id, AlertKind.MISMATCH, detail, now, mismatch=mismatch)
    closed += PaymentAlert.objects.filter(
        kind=AlertKind.MISMATCH, closed_at__isnull=True, mismatch__resolved_at__isnull=False
    ).update(closed_at=now)
    emailed = sum(
        _email(alert_id)
        for alert_id in PaymentAlert.objects.filter(emailed_at__isnull=True, closed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    return {"opened": opened, "closed": closed, "emailed": emailed}


def _open(
    organization_id: uuid.UUID, kind: str, detail: str, now: datetime, mismatch: ReconciliationMismatch | None = None
) -> int:
    if (
        kind == AlertKind.FAILURE_RATE
        and PaymentAlert.objects.filter(organization_id=organization_id, kind=kind, closed_at__isnull=True).exists()
    ):
        return 0
    try:
        with transaction.atomic():
            PaymentAlert.objects.create(
                organization_id=organization_id, kind=kind, detail=detail[:500], opened_at=now, mismatch=mismatch
            )
    except IntegrityError:
        return 0  # another worker opened it
    return 1


def _email(alert_id: int) -> int:
    with transaction.atomic():
        alert = (
            PaymentAlert.objects.select_for_update(skip_locked=True)
            .filter(pk=alert_id, emailed_at__isnull=True)
            .first()
        )
        if alert is None:
            return 0
        recipients = sorted(
            set(
                Membership.objects.filter(organization_id=alert.organization_id, role__in=MANAGER_ROLES)
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
        if recipients:
            send_mail(
                subject=f"Payment alert: {alert.get_kind_display()}",
                message=f"{alert.detail}\n\nSee the back office dashboard for details.\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        alert.emailed_at = timezone.now()
        alert.save(update_fields=["emailed_at"])
    return 1
