"""Owner payouts (a daily beat job) and the owner's earnings figures.

A payout settles the organization's unsettled owner-payable ledger lines: every debit (refunds,
cash taken, earlier payouts' corrections) at once, and credits whose stay ended ``holdback_hours``
ago. Rows are claimed in one transaction (payout + its items; an entry can be settled only once), the
transfer is made after commit with the idempotency key ``payout-<id>``, and the result is recorded.
A rerun finds nothing unsettled: it never pays twice. A failed transfer is retried with the same
payout (and key) by the next run or the admin's retry action.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import AuditAction
from app.exceptions import ApplicationError

from . import ledger
from .models import (
    LedgerAccount,
    LedgerEntry,
    Payment,
    PaymentStatus,
    Payout,
    PayoutAccount,
    PayoutItem,
    PayoutStatus,
    Refund,
    RefundStatus,
)
from .providers import provider_get

logger = logging.getLogger(__name__)


def _eligible(account: PayoutAccount, now: datetime) -> QuerySet[LedgerEntry]:
    ready_before = now - timedelta(hours=account.holdback_hours)
    stay_over = Q(payment__booking__end__lte=ready_before) | Q(
        payment__booking__isnull=True, created_at__lte=ready_before
    )
    return LedgerEntry.objects.filter(
        account=LedgerAccount.OWNER_PAYABLE,
        organization_id=account.organization_id,
        payout_item__isnull=True,
        payout__isnull=True,
    ).filter(Q(amount__gt=0) | stay_over)


def payout_prepare(*, account: PayoutAccount, now: datetime) -> Payout | None:
    """Claim the eligible lines of one organization into a pending payout (None: below minimum)."""
    with transaction.atomic():
        locked = PayoutAccount.objects.select_for_update(skip_locked=True).filter(pk=account.pk).first()
        if locked is None or not locked.account_id:
            return None
        if Payout.objects.filter(organization_id=locked.organization_id, status=PayoutStatus.PENDING).exists():
            return None  # one in flight: finish it first
        entries = list(_eligible(locked, now).select_for_update(of=("self",)))
        by_currency: dict[str, list[LedgerEntry]] = {}
        for entry in entries:
            by_currency.setdefault(entry.currency, []).append(entry)
        for currency, lines in by_currency.items():
            amount = -sum(line.amount for line in lines)
            if amount < locked.minimum_amount:
                continue
            payout = Payout.objects.create(
                organization_id=locked.organization_id,
                currency=currency,
                amount=amount,
                period_end=now,
                provider=locked.provider,
                account_id=locked.account_id,
            )
            PayoutItem.objects.bulk_create([PayoutItem(payout=payout, entry=line) for line in lines])
            return payout  # one currency per run keeps the job bounded; the next run takes the next
    return None


def payout_send(*, payout_id: uuid.UUID) -> Payout:
    """Transfer a pending payout (idempotency key ``payout-<id>``) and record the result."""
    payout = Payout.objects.get(pk=payout_id)
    if payout.status == PayoutStatus.PAID:
        return payout
    try:
        transfer_id = provider_get(payout.provider).transfer(payout=payout)
    except ApplicationError as exc:
        Payout.objects.filter(pk=payout.pk).update(
            status=PayoutStatus.FAILED, attempts=payout.attempts + 1, error=exc.message[:2000]
        )
        logger.warning("payments: payout %s failed: %s", payout.pk, exc.message)
        payout.refresh_from_db()
        return payout
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status == PayoutStatus.PAID:
            return payout
        payout.status = PayoutStatus.PAID
        payout.transfer_id = transfer_id
        payout.attempts += 1
        payout.error = ""
        payout.paid_at = timezone.now()
        payout.save(update_fields=["status", "transfer_id", "attempts", "error", "paid_at"])
        ledger.post_payout(payout)
        audit_log_record(
            action=AuditAction.PAYOUT_SENT,
            actor=None,
            organization_id=payout.organization_id,
            target=payout,
            data={"amount": payout.amount, "currency": payout.currency, "transfer": transfer_id},
        )
    return payout


def payout_retry(*, payout_id: uuid.UUID) -> Payout:
    """Retry a failed payout with the same id (so the same idempotency key)."""
    Payout.objects.filter(pk=payout_id, status=PayoutStatus.FAILED).update(status=PayoutStatus.PENDING)
    return payout_send(payout_id=payout_id)


def payouts_run(*, now: datetime | None = None) -> int:
    """Beat job (daily): retry pending/failed payouts, then create and send new ones. Idempotent."""
    now = now or timezone.now()
    sent = 0
    for payout_id in list(
        Payout.objects.filter(status__in=(PayoutStatus.PENDING, PayoutStatus.FAILED), attempts__lt=5).values_list(
            "pk", flat=True
        )
    ):
        sent += payout_send(payout_id=payout_id).status == PayoutStatus.PAID
    for account in PayoutAccount.objects.exclude(account_id="").exclude(provider=""):
        payout = payout_prepare(account=account, now=now)
        if payout is not None:
            sent += payout_send(payout_id=payout.pk).status == PayoutStatus.PAID
    return sent


# ---------------------------------------------------------------------------- earnings


@dataclass(frozen=True)
class Earnings:
    currency: str
    gross: int
    fees: int
    refunds: int
    net: int
    pending: int
    paid_out: int
    next_payout_amount: int
    next_payout_after: datetime | None


def earnings_for(*, organization_id: uuid.UUID, currency: str, start: datetime, end: datetime) -> Earnings:
    """The host dashboard figures for payments that succeeded in ``[start, end)``: ``gross`` paid by
    drivers, ``fees`` kept by the platform, ``refunds`` given back, ``net`` the owner's share after
    refunds; ``pending`` is what the platform owes now, of which ``next_payout_amount`` is payable
    at the next run (past holdback)."""
    payments = Payment.objects.filter(
        organization_id=organization_id,
        currency=currency,
        status=PaymentStatus.SUCCEEDED,
        succeeded_at__gte=start,
        succeeded_at__lt=end,
    ).aggregate(gross=Sum("amount"), fees=Sum("platform_amount"), owner=Sum("owner_amount"))
    refunds = Refund.objects.filter(
        payment__organization_id=organization_id,
        payment__currency=currency,
        status=RefundStatus.SUCCEEDED,
        completed_at__gte=start,
        completed_at__lt=end,
    ).aggregate(amount=Sum("amount"), owner=Sum("owner_amount"))
    paid_out = (
        Payout.objects.filter(
            organization_id=organization_id,
            currency=currency,
            status=PayoutStatus.PAID,
            paid_at__gte=start,
            paid_at__lt=end,
        ).aggregate(amount=Sum("amount"))["amount"]
        or 0
    )
    account = PayoutAccount.objects.filter(organization_id=organization_id).first() or PayoutAccount(
        organization_id=organization_id
    )
    now = timezone.now()
    unsettled = LedgerEntry.objects.filter(
        account=LedgerAccount.OWNER_PAYABLE,
        organization_id=organization_id,
        currency=currency,
        payout_item__isnull=True,
        payout__isnull=True,
    )
    pending = -(unsettled.aggregate(total=Sum("amount"))["total"] or 0)
    next_amount = -(_eligible(account, now).filter(currency=currency).aggregate(total=Sum("amount"))["total"] or 0)
    return Earnings(
        currency=currency,
        gross=payments["gross"] or 0,
        fees=payments["fees"] or 0,
        refunds=refunds["amount"] or 0,
        net=(payments["owner"] or 0) - (refunds["owner"] or 0),
        pending=pending,
        paid_out=paid_out,
        next_payout_amount=max(0, next_amount),
        next_payout_after=_next_run(now) if account.account_id else None,
    )


def _next_run(now: datetime) -> datetime:
    """The daily payout job runs at 06:00 UTC (payments/migrations: the beat schedule)."""
    today = now.replace(hour=6, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)
