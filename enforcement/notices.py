"""Emails to drivers about their violations: written in the violation's transaction (outbox), sent
after commit by a task, or by the every-minute dispatch job if the broker was down. Never the plate."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from bookings.outbox import outbox_dispatch_rows, outbox_send_row
from pricing.money import format_money

from .models import NoticeKind, Violation, ViolationNotice

logger = logging.getLogger(__name__)

_HEADLINES: dict[str, str] = {
    NoticeKind.ISSUED: "A parking violation was issued for your vehicle.",
    NoticeKind.DISPUTE_RECEIVED: "We received your dispute; staff will decide it and tell you.",
    NoticeKind.UPHELD: "Your dispute was reviewed: the fine stands.",
    NoticeKind.CANCELLED: "Your dispute was reviewed: the violation is cancelled and nothing is owed.",
    NoticeKind.WAIVED: "The violation was waived: nothing is owed.",
    NoticeKind.REOPENED: "A violation for your vehicle was reopened.",
}


def notice_enqueue(*, violation: Violation, kind: str) -> ViolationNotice | None:
    """Queue an email to the violation's driver (inside the caller's transaction); ``None`` when the
    driver is unknown or has no email."""
    to_email = violation.driver.email if violation.driver is not None else ""
    if not to_email:
        return None
    notice = ViolationNotice.objects.create(violation=violation, kind=kind, to_email=to_email)
    transaction.on_commit(functools.partial(_kick, notice.pk))
    return notice


def _kick(notice_id: int) -> None:
    from .tasks import notice_send_task

    try:
        notice_send_task.delay(notice_id)
    except Exception:
        logger.warning(
            "enforcement: could not queue notice %s; the dispatch job will send it", notice_id, exc_info=True
        )


def notice_email(notice: ViolationNotice) -> EmailMultiAlternatives:
    violation = Violation.objects.select_related("facility").get(pk=notice.violation_id)
    dispute = violation.disputes.order_by("-created_at").first()
    context = {
        "headline": _HEADLINES[notice.kind],
        "number": f"V-{violation.pk}",
        "kind": violation.get_kind_display(),
        "facility_name": violation.facility.name,
        "issued_at": violation.issued_at.strftime("%d %b %Y %H:%M UTC"),
        "fine": format_money(violation.fine_amount, violation.currency),
        "due_date": violation.due_date.isoformat(),
        "status": violation.get_status_display(),
        "decision_note": dispute.decision_note if dispute is not None else "",
        "owed": notice.kind in (NoticeKind.ISSUED, NoticeKind.UPHELD, NoticeKind.REOPENED),
    }
    email = EmailMultiAlternatives(
        subject=f"Parking violation V-{violation.pk} at {violation.facility.name}: {NoticeKind(notice.kind).label}",
        body=render_to_string("enforcement/email/notice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notice.to_email],
    )
    email.attach_alternative(render_to_string("enforcement/email/notice.html", context), "text/html")
    return email


def notice_send(notice_id: int) -> bool:
    return outbox_send_row(ViolationNotice, notice_id, notice_email)


def notices_dispatch(*, batch_size: int = 50) -> int:
    return outbox_dispatch_rows(ViolationNotice, notice_email, batch_size=batch_size)
