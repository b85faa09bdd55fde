"""Violations and disputes: issue, notify, pay, dispute, decide, waive, escalate, reopen.

Lock order (the same everywhere, so two writers never deadlock): the fine's payment row first (the
order payments uses when a fine payment succeeds), then the violation row. Money moves only through
``payments`` (a payment request for the fine; withdrawing it cancels the request or refunds it), and
the driver is emailed about every decision through the violation notice outbox.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import AuditAction, User
from accounts.selectors import MANAGER_ROLES, organization_role
from app.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from bookings.models import Booking
from parking.models import Facility, Spot
from payments import services as payment_services
from payments.models import Payment, PaymentPurpose, PaymentStatus
from vehicles.models import Vehicle
from vehicles.plates import normalize_plate, plate_blind_index

from .models import (
    PAYABLE_STATUSES,
    RESOLVED_STATUSES,
    VIOLATION_TRANSITIONS,
    Dispute,
    DisputeStatus,
    EnforcementCheck,
    EvidenceKind,
    NoticeKind,
    PenaltyPolicy,
    Violation,
    ViolationEvent,
    ViolationEvidence,
    ViolationStatus,
)
from .notices import notice_enqueue

DEFAULT_DUE_DAYS = 14


class ViolationInvalidTransitionError(ConflictError):
    code = "invalid_transition"


def _lock(violation_id: int) -> Violation:
    """Lock the violation's payment (if any), then the violation; retry once if the payment changed."""
    for _attempt in range(2):
        payment_id = Violation.objects.filter(pk=violation_id).values_list("payment_id", flat=True).first()
        if payment_id is not None:
            list(Payment.objects.select_for_update().filter(pk=payment_id).values_list("pk", flat=True))
        violation = Violation.objects.select_for_update().filter(pk=violation_id).first()
        if violation is None:
            raise NotFoundError("Violation not found.")
        if violation.payment_id == payment_id:
            return violation
    raise ConflictError("The violation changed meanwhile; retry.", code="violation_changed")


def _move(violation: Violation, to_status: str, *, actor: User | None, note: str = "") -> None:
    """Change the status (locked row) if the lifecycle allows it, and record the event."""
    if to_status not in VIOLATION_TRANSITIONS[violation.status]:
        raise ViolationInvalidTransitionError(f"A {violation.status} violation cannot become {to_status}.")
    previous = violation.status
    violation.status = to_status
    if to_status in RESOLVED_STATUSES:
        violation.resolved_at = timezone.now()
        violation.resolved_by = actor
        violation.resolution_note = note[:1000]
    violation.save()
    ViolationEvent.objects.create(
        violation=violation, from_status=previous, to_status=to_status, actor=actor, note=note[:1000]
    )


def _request_fine(violation: Violation) -> None:
    """A payment request for the fine (locked violation with a known driver and a fine to pay)."""
    if violation.driver is None or violation.fine_amount <= 0:
        return
    violation.payment = payment_services.payment_request(
        organization_id=violation.organization_id,
        driver=violation.driver,
        currency=violation.currency,
        purpose=PaymentPurpose.VIOLATION,
        amount=violation.fine_amount,
        description=f"Fine V-{violation.pk} ({violation.get_kind_display()}) at {violation.facility.name}",
    )
    violation.save(update_fields=["payment", "updated_at"])


def _withdraw_fine(violation: Violation, *, actor: User | None, note: str) -> None:
    if violation.payment_id is not None:
        payment_services.payment_request_withdraw(payment_id=violation.payment_id, actor=actor, note=note)


def _notify(violation: Violation, kind: str, *, actor: User | None) -> None:
    """Email the driver; the first notice moves an ``issued`` violation to ``notified``."""
    if notice_enqueue(violation=violation, kind=kind) and violation.status == ViolationStatus.ISSUED:
        _move(violation, ViolationStatus.NOTIFIED, actor=actor, note="driver notified by email")


def _due_date(facility: Facility, at: datetime, days: int) -> date:
    return at.astimezone(ZoneInfo(facility.timezone)).date() + timedelta(days=days)


def violation_issue(
    *,
    actor: User | None,
    facility: Facility,
    kind: str,
    plate: str | None = None,
    check: EnforcementCheck | None = None,
    booking: Booking | None = None,
    spot: Spot | None = None,
    fine_amount: int | None = None,
    notes: str = "",
    at: datetime | None = None,
) -> Violation:
    """Issue a violation at ``facility`` for a plate (given, or the one an enforcement check looked at).

    The fine is ``fine_amount`` or the facility's penalty policy fine for ``kind`` (400
    ``fine_not_configured`` on ``fine_amount`` when neither). The driver is the booking's, or the owner
    of the vehicle registered with this plate when exactly one driver has it. When the driver is known
    a payment request for the fine is created (charged off-session to a saved Stripe card when there
    is one) and the driver is emailed (``notified``). Runs in one transaction; the caller has checked
    that the actor may act for the facility and that ``check``/``booking``/``spot`` belong to it."""
    at = at or timezone.now()
    normalized = normalize_plate(plate) if plate is not None else None
    if normalized is not None:
        index = plate_blind_index(normalized)
    elif check is not None:
        index = check.plate_index
    elif booking is not None:
        index = booking.plate_index
    else:
        raise ApplicationError("Give a licence plate or an enforcement check.", code="required", attr="license_plate")
    if check is not None and check.plate_index != index:
        raise ApplicationError("The plate is not the one the check looked at.", code="invalid", attr="license_plate")
    booking = booking or (check.booking if check is not None else None)
    policy = PenaltyPolicy.objects.filter(facility=facility).first()
    if fine_amount is None:
        configured = (policy.fines if policy else {}).get(kind)
        if not isinstance(configured, int) or configured < 0:
            raise ApplicationError(
                f"The facility's penalty policy sets no fine for {kind}; give fine_amount.",
                code="fine_not_configured",
                attr="fine_amount",
            )
        fine_amount = configured
    vehicle = booking.vehicle if booking is not None and booking.vehicle_id else _only_vehicle(index)
    driver = booking.driver if booking is not None and booking.driver_id else (vehicle.owner if vehicle else None)
    with transaction.atomic():
        violation = Violation.objects.create(
            organization_id=facility.organization_id,
            facility=facility,
            spot=spot or (booking.spot if booking is not None else None),
            plate=normalized,
            plate_index=index,
            vehicle=vehicle,
            booking=booking,
            driver=driver,
            kind=kind,
            fine_amount=fine_amount,
            currency=facility.currency,
            notes=notes,
            check_record=check,
            issued_by=actor,
            issued_at=at,
            due_date=_due_date(facility, at, policy.fine_due_days if policy else DEFAULT_DUE_DAYS),
        )
        ViolationEvent.objects.create(violation=violation, to_status=violation.status, actor=actor, note=notes[:1000])
        if notes:
            ViolationEvidence.objects.create(violation=violation, kind=EvidenceKind.NOTE, note=notes, added_by=actor)
        _request_fine(violation)
        _notify(violation, NoticeKind.ISSUED, actor=actor)
    return violation


def _only_vehicle(plate_index: str) -> Vehicle | None:
    """The registered vehicle with this plate when exactly one driver has it (else unknown)."""
    vehicles = list(Vehicle.objects.filter(plate_index=plate_index).select_related("owner")[:2])
    return vehicles[0] if len(vehicles) == 1 else None


def violation_add_evidence(
    *,
    violation: Violation,
    actor: User,
    note: str = "",
    photo: UploadedFile | None = None,
    gate_event_id: Any = None,
) -> ViolationEvidence:
    """Attach a note, a photo or a gate event link to an open violation (resolved ones are read-only)."""
    with transaction.atomic():
        locked = _lock(violation.pk)
        if locked.is_resolved:
            raise ViolationInvalidTransitionError(f"A {locked.status} violation is read-only.")
        kind = EvidenceKind.PHOTO if photo else EvidenceKind.GATE_EVENT if gate_event_id else EvidenceKind.NOTE
        evidence = ViolationEvidence(
            violation=locked, kind=kind, note=note, gate_event_id=gate_event_id, added_by=actor
        )
        if photo is not None:
            evidence.photo.save(photo.name or "photo", photo, save=False)
        evidence.save()
        locked.save(update_fields=["updated_at"])
    return evidence


def violation_waive(*, violation: Violation, actor: User, reason: str) -> Violation:
    """Drop the fine (any open status → ``waived``): the request is cancelled or the payment refunded; audited."""
    with transaction.atomic():
        locked = _lock(violation.pk)
        _move(locked, ViolationStatus.WAIVED, actor=actor, note=reason)
        _withdraw_fine(locked, actor=actor, note=f"violation V-{locked.pk} waived")
        Dispute.objects.filter(violation=locked, status=DisputeStatus.OPEN).update(
            status=DisputeStatus.CANCELLED, decided_by=actor, decision_note=reason[:1000], decided_at=timezone.now()
        )
        audit_log_record(
            action=AuditAction.VIOLATION_WAIVED,
            actor=actor,
            organization_id=locked.organization_id,
            target=locked,
            data={"reason": reason, "fine_amount": locked.fine_amount, "currency": locked.currency},
        )
        notice_enqueue(violation=locked, kind=NoticeKind.WAIVED)
    return locked


def violation_escalate(*, violation: Violation, actor: User, reason: str) -> Violation:
    """Flag an open violation for follow-up (collections, towing, a manager's call); audited."""
    with transaction.atomic():
        locked = _lock(violation.pk)
        if locked.is_resolved:
            raise ViolationInvalidTransitionError(f"A {locked.status} violation cannot be escalated.")
        if locked.escalated_at is not None:
            raise ViolationInvalidTransitionError("The violation is already escalated.")
        locked.escalated_at = timezone.now()
        locked.escalation_reason = reason[:500]
        locked.save(update_fields=["escalated_at", "escalation_reason", "updated_at"])
        ViolationEvent.objects.create(
            violation=locked,
            from_status=locked.status,
            to_status=locked.status,
            actor=actor,
            note=f"escalated: {reason}",
        )
        audit_log_record(
            action=AuditAction.VIOLATION_ESCALATED,
            actor=actor,
            organization_id=locked.organization_id,
            target=locked,
            data={"reason": reason},
        )
    return locked


def violation_reopen(*, violation: Violation, actor: User, reason: str) -> Violation:
    """A manager (owner/manager of the organization) reopens a ``waived`` or ``cancelled`` violation
    within ``VIOLATION_REOPEN_DAYS`` of its resolution; the fine is requested again. A paid violation
    is not reopened (refund the payment instead)."""
    if organization_role(actor=actor, organization_id=violation.organization_id) not in MANAGER_ROLES:
        raise PermissionDeniedError("Only owners and managers can reopen a violation.")
    with transaction.atomic():
        locked = _lock(violation.pk)
        if locked.status not in (ViolationStatus.WAIVED, ViolationStatus.CANCELLED):
            raise ViolationInvalidTransitionError(f"A {locked.status} violation cannot be reopened.")
        deadline = (locked.resolved_at or timezone.now()) + timedelta(days=settings.VIOLATION_REOPEN_DAYS)
        if timezone.now() > deadline:
            raise ViolationInvalidTransitionError(
                f"Violations can be reopened for {settings.VIOLATION_REOPEN_DAYS} days after they were resolved.",
                code="reopen_window_passed",
            )
        previous = locked.status
        locked.status = ViolationStatus.ISSUED
        locked.resolved_at, locked.resolved_by, locked.resolution_note = None, None, ""
        locked.save()
        ViolationEvent.objects.create(
            violation=locked, from_status=previous, to_status=locked.status, actor=actor, note=f"reopened: {reason}"
        )
        audit_log_record(
            action=AuditAction.VIOLATION_REOPENED,
            actor=actor,
            organization_id=locked.organization_id,
            target=locked,
            data={"reason": reason, "from_status": previous},
        )
        _request_fine(locked)
        _notify(locked, NoticeKind.REOPENED, actor=actor)
    return locked


def violation_pay(*, violation: Violation, driver: User, provider_name: str) -> tuple[Payment, dict[str, Any]]:
    """The driver pays the fine with ``provider_name``: the open request (made now if there is none
    usable) is paid through payments. 409 ``invalid_transition`` when nothing is owed."""
    with transaction.atomic():
        locked = _lock(violation.pk)
        if locked.status not in PAYABLE_STATUSES or locked.fine_amount <= 0:
            raise ViolationInvalidTransitionError(f"Nothing is owed on a {locked.status} violation.")
        if locked.driver_id is None:
            locked.driver = driver  # matched by the plate of one of the driver's vehicles
            locked.save(update_fields=["driver", "updated_at"])
        payment = locked.payment
        if payment is None or payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED):
            _request_fine(locked)
            payment = locked.payment
    assert payment is not None
    return payment_services.payment_request_pay(payment=payment, driver=driver, provider_name=provider_name)


def on_fine_paid(payment: Payment) -> bool:
    """``payments.events`` listener (payment row locked): the fine's payment succeeded → ``paid``.
    False (refund it) when the violation no longer asks for this money."""
    violation = Violation.objects.select_for_update().filter(payment=payment).first()
    if violation is None or violation.status not in PAYABLE_STATUSES:
        return False
    _move(violation, ViolationStatus.PAID, actor=None, note=f"paid ({payment.provider})")
    return True


def dispute_open(
    *, violation: Violation, driver: User, reason: str, evidence: str = "", evidence_file: UploadedFile | None = None
) -> Dispute:
    """The driver contests an ``issued`` or ``notified`` violation (once): → ``disputed``. The fine
    stays requested; if the dispute is cancelled it is withdrawn (or refunded)."""
    with transaction.atomic():
        locked = _lock(violation.pk)
        if locked.status not in (ViolationStatus.ISSUED, ViolationStatus.NOTIFIED):
            raise ViolationInvalidTransitionError(f"A {locked.status} violation cannot be disputed.")
        if locked.driver_id is None:
            locked.driver = driver
        dispute = Dispute(violation=locked, driver=driver, reason=reason, evidence=evidence)
        if evidence_file is not None:
            dispute.evidence_file.save(evidence_file.name or "evidence", evidence_file, save=False)
        dispute.save()
        _move(locked, ViolationStatus.DISPUTED, actor=driver, note="disputed by the driver")
        notice_enqueue(violation=locked, kind=NoticeKind.DISPUTE_RECEIVED)
    return dispute


def dispute_resolve(*, dispute: Dispute, actor: User, uphold: bool, note: str) -> Dispute:
    """Staff decide an open dispute: uphold (the fine stands: ``upheld``) or cancel (``cancelled``; the
    fine is withdrawn or refunded). Audited; the driver is emailed the decision."""
    with transaction.atomic():
        violation = _lock(dispute.violation_id)
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if locked.status != DisputeStatus.OPEN:
            raise ViolationInvalidTransitionError("This dispute is already decided.")
        locked.status = DisputeStatus.UPHELD if uphold else DisputeStatus.CANCELLED
        locked.decided_by, locked.decision_note, locked.decided_at = actor, note[:1000], timezone.now()
        locked.save()
        _move(violation, ViolationStatus.UPHELD if uphold else ViolationStatus.CANCELLED, actor=actor, note=note)
        if not uphold:
            _withdraw_fine(violation, actor=actor, note=f"dispute of V-{violation.pk} cancelled the fine")
        audit_log_record(
            action=AuditAction.DISPUTE_RESOLVED,
            actor=actor,
            organization_id=violation.organization_id,
            target=violation,
            data={"dispute": locked.pk, "decision": locked.status, "note": note},
        )
        notice_enqueue(violation=violation, kind=NoticeKind.UPHELD if uphold else NoticeKind.CANCELLED)
    return locked
