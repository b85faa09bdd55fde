"""Problems drivers report on site (``POST /bookings/{id}/report-issue/``).

``spot_occupied``: the booking is moved at once to another free compatible spot of the facility
(``staff_services.booking_move``: spot locks in primary-key order, the availability selector under
the locks, the exclusion constraint last), best fit first; if none is free it is cancelled with a
full refund (payments refunds it through the booking events). Either way, and for every other kind,
the organization's members are emailed an alert (outbox, after commit).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from parking import availability
from parking.availability import SpotRequirements

from .exceptions import InvalidTransitionError, SpotUnavailableError
from .models import Booking, BookingStatus, IssueKind, IssueOutcome, IssueReport, StaffAlert
from .outbox import outbox_dispatch_rows, outbox_send_row
from .services import booking_cancel
from .staff_services import booking_move

logger = logging.getLogger(__name__)


def booking_report_issue(
    *, booking: Booking, reporter: User, kind: str, note: str, at: datetime | None = None
) -> IssueReport:
    """Record the driver's report and act on it (see the module docstring). Only for an active booking
    whose window is current (from the early check-in time to the end): else 409 ``invalid_transition``."""
    at = at or timezone.now()
    opens = booking.start - timedelta(minutes=booking.facility.early_checkin_minutes)
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN) or not opens <= at < booking.end:
        raise InvalidTransitionError("Issues can be reported for a confirmed or parked booking during its window.")
    from_spot_id = booking.spot_id
    with transaction.atomic():
        outcome, to_spot_id = IssueOutcome.REPORTED, None
        if kind == IssueKind.SPOT_OCCUPIED:
            to_spot_id = booking_relocate(booking=booking, actor=reporter, reason="spot occupied on arrival")
            if to_spot_id is None:
                booking_cancel(
                    booking_id=booking.pk, actor=reporter, reason="spot occupied on arrival", full_refund=True
                )
                outcome = IssueOutcome.CANCELLED
            else:
                outcome = IssueOutcome.MOVED
        report = IssueReport.objects.create(
            booking=booking,
            organization_id=booking.organization_id,
            reporter=reporter,
            kind=kind,
            note=note,
            outcome=outcome,
            from_spot_id=from_spot_id,
            to_spot_id=to_spot_id,
        )
        _alert_staff(report)
    return report


def booking_relocate(*, booking: Booking, actor: User, reason: str) -> int | None:
    """Move an active booking to the first free compatible spot of its facility that can still be had
    (``booking_move``'s guarantees); the new spot's id, or None when none is free."""
    requirements = SpotRequirements(vehicle_type=booking.vehicle_type)
    candidates = (
        availability.spots_free(start=booking.start, end=booking.end, requirements=requirements)
        .filter(facility_id=booking.facility_id)
        .exclude(pk=booking.spot_id)
        .order_by("zone_id", "pk")
    )
    for spot_id in list(candidates.values_list("pk", flat=True)[:20]):
        try:
            with transaction.atomic():
                booking_move(booking_id=booking.pk, actor=actor, spot_id=spot_id, reason=reason)
        except SpotUnavailableError:
            continue  # taken meanwhile: try the next one
        return spot_id
    return None


def _alert_staff(report: IssueReport) -> None:
    emails = set(
        Membership.objects.filter(organization_id=report.organization_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    for email in sorted(emails):
        alert = StaffAlert.objects.create(report=report, to_email=email)
        transaction.on_commit(functools.partial(_kick, alert.pk))


def _kick(alert_id: int) -> None:
    from .tasks import staff_alert_send_task

    try:
        staff_alert_send_task.delay(alert_id)
    except Exception:
        logger.warning("issues: could not queue alert %s; the dispatch job will send it", alert_id, exc_info=True)


def staff_alert_email(alert: StaffAlert) -> EmailMessage:
    report = IssueReport.objects.select_related("booking__facility", "from_spot", "to_spot").get(pk=alert.report_id)
    booking = report.booking
    outcome = {
        IssueOutcome.MOVED: f"moved from spot {report.from_spot.code} to {report.to_spot.code if report.to_spot else '?'}",
        IssueOutcome.CANCELLED: f"no other spot was free: cancelled with a full refund (spot {report.from_spot.code})",
        IssueOutcome.REPORTED: f"spot {report.from_spot.code}; please follow up",
    }[IssueOutcome(report.outcome)]
    body = (
        f"A driver reported a problem at {booking.facility.name}.\n\n"
        f"Booking: {booking.reference}\nProblem: {report.get_kind_display()}\nNote: {report.note or '-'}\n"
        f"What the platform did: {outcome}\n"
    )
    return EmailMessage(
        subject=f"[{booking.facility.name}] {report.get_kind_display()} reported — {booking.reference}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[alert.to_email],
    )


def staff_alert_send(alert_id: int) -> bool:
    return outbox_send_row(StaffAlert, alert_id, staff_alert_email)


def staff_alerts_dispatch(*, batch_size: int = 50) -> int:
    return outbox_dispatch_rows(StaffAlert, staff_alert_email, batch_size=batch_size)


def issue_reports_mark_handled(*, report_ids: list[int]) -> int:
    """Staff dealt with these reports (unhandled ones get ``handled_at`` now). Returns how many."""
    return IssueReport.objects.filter(pk__in=report_ids, handled_at__isnull=True).update(handled_at=timezone.now())
