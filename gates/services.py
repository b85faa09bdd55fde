"""Gate decisions, keys and commands.

A decision does bounded work: it resolves the credential (a handful of indexed queries), applies the
booking transition with the device's time through the bookings services, and records one
``GateEvent``. Provider calls and emails never run inside it (payments queues them after commit).
Decisions are idempotent by ``(gate, event_id)``: a repeat returns the recorded decision and changes
nothing (the unique constraint settles a concurrent repeat; its loser's effects roll back).

Reason codes (the public contract; docs/gates.md):
open  — ``ok`` (booking checked in / out), ``re_entry`` (already inside, anti-passback off),
        ``pass_valid``, ``drive_in_started``, ``fee_charged_to_saved_card``, ``already_checked_out``
deny  — ``credential_not_accepted``, ``wrong_direction``, ``invalid_credential``, ``unknown_credential``,
        ``wrong_facility``, ``too_early``, ``outside_window``, ``booking_cancelled``, ``booking_expired``,
        ``no_show``, ``booking_completed``, ``payment_required``, ``already_inside``, ``not_inside``,
        ``manual_review``, ``facility_full``, ``no_booking``
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import AuditAction, User
from app.exceptions import ApplicationError, ConflictError, NotFoundError
from bookings import services as booking_services
from bookings import sessions
from bookings.credentials import CredentialError, credential_verify, signing_keys_from_settings
from bookings.models import Booking, BookingKind, BookingStatus
from parking.models import Facility
from payments import services as payment_services
from payments.models import Payment, PaymentStatus
from pricing import selectors as pricing_selectors
from vehicles.exceptions import InvalidPlateError
from vehicles.models import Vehicle
from vehicles.plates import normalize_plate, plate_blind_index

from .agent.reading import MESSAGES as AGENT_MESSAGES
from .auth import key_generate, key_hash
from .metrics import DECISION_SECONDS, DECISIONS
from .models import (
    CommandKind,
    CredentialType,
    Decision,
    EventKind,
    Gate,
    GateCommand,
    GateDirection,
    GateEvent,
    GateKey,
    GateStatus,
    ManualReview,
)
from .monitoring import gate_alerts_close, gate_status_publish

logger = logging.getLogger(__name__)

QR_LEEWAY_SECONDS = 120  # gate clocks drift
EXIT_QR_LEEWAY_SECONDS = 7 * 24 * 3600
RECENT_EXIT = timedelta(hours=2)
COMMAND_REDELIVERY = timedelta(
    seconds=30
)  # an unacknowledged command is sent again after this  # a plate read at an exit this soon after check-out is the same stay
ENTRY_DIRECTIONS = (GateDirection.ENTRY, GateDirection.BOTH)
EXIT_DIRECTIONS = (GateDirection.EXIT, GateDirection.BOTH)

# The gate display texts: one table for the platform and the edge agent (which cannot import Django).
MESSAGES = AGENT_MESSAGES


@dataclass(frozen=True)
class Credential:
    qr_code: str = ""
    license_plate: str = ""
    confidence: Decimal | None = None
    booking_reference: str = ""
    ticket: str = ""

    @property
    def type(self) -> str:
        if self.qr_code:
            return CredentialType.QR
        if self.license_plate:
            return CredentialType.PLATE
        if self.ticket:
            return CredentialType.TICKET
        return CredentialType.REFERENCE


@dataclass
class _Outcome:
    decision: str
    reason: str
    booking: Booking | None = None
    plate_index: str = ""
    review: bool = False
    amount_due: int | None = None
    payment: Payment | None = None


def _deny(reason: str, **kwargs: object) -> _Outcome:
    return _Outcome(Decision.DENY, reason, **kwargs)  # type: ignore[arg-type]


def _open(reason: str, **kwargs: object) -> _Outcome:
    return _Outcome(Decision.OPEN, reason, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- decisions


def gate_check_in(
    *, gate: Gate, event_id: str, occurred_at: datetime, credential: Credential, offline: bool = False
) -> GateEvent:
    return _decide(gate, event_id, occurred_at, credential, EventKind.ENTRY, offline)


def gate_check_out(
    *, gate: Gate, event_id: str, occurred_at: datetime, credential: Credential, offline: bool = False
) -> GateEvent:
    return _decide(gate, event_id, occurred_at, credential, EventKind.EXIT, offline)


def gate_event_apply_offline(
    *,
    gate: Gate,
    event_id: str,
    kind: str,
    occurred_at: datetime,
    credential: Credential,
    decision: str,
    reason_code: str = "",
) -> tuple[GateEvent, bool]:
    """Record a decision the gate took offline (uploaded later); returns ``(event, created)``.

    A gate that *denied* changes nothing here. A gate that *opened* is applied like a live decision
    with its device time (check-in / check-out); when the platform would have refused (the booking
    was cancelled meanwhile, say) the event is kept as opened — the car did go through — flagged, with
    a manual-review item for staff. Never dropped, never applied twice."""
    before = GateEvent.objects.filter(gate=gate, event_id=event_id).first()
    if before is not None:
        if before.decision != decision and not before.flagged:
            # A live call the gate gave up on was decided otherwise than what the barrier did: staff look.
            with transaction.atomic():
                GateEvent.objects.filter(pk=before.pk).update(flagged=True)
                ManualReview.objects.get_or_create(event=before, defaults={"reason": "offline_conflict"})
            before.refresh_from_db()
        return before, False
    reported = _Outcome(decision, reason_code or "offline_deny") if decision == Decision.DENY else None
    event = _decide(gate, event_id, occurred_at, credential, kind, offline=True, reported=reported)
    return event, True


def _decide(
    gate: Gate,
    event_id: str,
    occurred_at: datetime,
    credential: Credential,
    kind: str,
    offline: bool,
    reported: _Outcome | None = None,
) -> GateEvent:
    started = time.perf_counter()
    event = _decide_once(gate, event_id, occurred_at, credential, kind, offline, reported)
    if not offline:
        DECISION_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
    DECISIONS.labels(kind=kind, decision=event.decision, reason=event.reason_code).inc()
    return event


def _decide_once(
    gate: Gate,
    event_id: str,
    occurred_at: datetime,
    credential: Credential,
    kind: str,
    offline: bool,
    reported: _Outcome | None,
) -> GateEvent:
    existing = GateEvent.objects.filter(gate=gate, event_id=event_id).select_related("booking").first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            if reported is not None:  # an offline deny: nothing to apply
                outcome = reported
            else:
                outcome = (_entry if kind == EventKind.ENTRY else _exit)(gate, occurred_at, credential)
                if offline and outcome.decision == Decision.DENY:
                    # The gate opened without us: keep what happened and ask staff to look.
                    outcome = _Outcome(
                        Decision.OPEN,
                        f"offline_{outcome.reason}"[:32],
                        booking=outcome.booking,
                        plate_index=outcome.plate_index,
                        review=True,
                        amount_due=outcome.amount_due,
                        payment=outcome.payment,
                    )
            event = GateEvent.objects.create(
                gate=gate,
                organization_id=gate.organization_id,
                facility_id=gate.facility_id,
                event_id=event_id,
                kind=kind,
                occurred_at=occurred_at,
                credential_type=credential.type,
                plate_index=outcome.plate_index,
                plate_confidence=credential.confidence,
                booking=outcome.booking,
                decision=outcome.decision,
                reason_code=outcome.reason,
                message=MESSAGES.get(outcome.reason, "Recorded offline"),
                offline=offline,
                flagged=outcome.review,
                amount_due=outcome.amount_due,
                payment=outcome.payment,
            )
            if outcome.review:
                ManualReview.objects.create(event=event, reason=outcome.reason)
    except IntegrityError:
        # The same event decided concurrently: the first one stands, this one's effects rolled back.
        return GateEvent.objects.select_related("booking").get(gate=gate, event_id=event_id)
    return event


def _direction_and_type(gate: Gate, credential: Credential, directions: tuple[str, ...]) -> _Outcome | None:
    if gate.direction not in directions:
        return _deny("wrong_direction")
    if credential.type not in gate.accepted_credentials:
        return _deny("credential_not_accepted")
    return None


def _booking_from(
    gate: Gate, credential: Credential, occurred_at: datetime, leeway: int = QR_LEEWAY_SECONDS
) -> Booking | _Outcome:
    """The booking a QR code, reference or ticket names (plates are resolved by the callers)."""
    if credential.qr_code:
        try:
            keys = {key.kid: key.public_key for key in signing_keys_from_settings()}
            claims = credential_verify(credential.qr_code, keys, occurred_at, leeway_seconds=leeway)
        except CredentialError as exc:
            reason = {"not_yet_valid": "too_early", "expired": "outside_window"}.get(exc.code, "invalid_credential")
            return _deny(reason)
        if claims["fac"] != gate.facility_id:
            return _deny("wrong_facility")
        reference = claims["ref"]
    else:
        reference = (credential.ticket or credential.booking_reference).strip().upper()
    booking = Booking.objects.filter(reference=reference).first()
    if booking is None:
        return _deny("unknown_credential")
    if booking.facility_id != gate.facility_id:
        return _deny("wrong_facility")
    return booking


def _plate_index(credential: Credential) -> str | None:
    try:
        return plate_blind_index(normalize_plate(credential.license_plate))
    except InvalidPlateError:
        return None


def _low_confidence(gate: Gate, credential: Credential) -> bool:
    return credential.confidence is None or credential.confidence < gate.plate_confidence_threshold


def _entry(gate: Gate, occurred_at: datetime, credential: Credential) -> _Outcome:
    refused = _direction_and_type(gate, credential, ENTRY_DIRECTIONS)
    if refused is not None:
        return refused
    if credential.license_plate:
        return _entry_by_plate(gate, occurred_at, credential)
    found = _booking_from(gate, credential, occurred_at)
    if isinstance(found, _Outcome):
        return found
    return _admit(gate, found, occurred_at)


def _admit(gate: Gate, booking: Booking, occurred_at: datetime, plate_index: str = "") -> _Outcome:
    if booking.status == BookingStatus.NO_SHOW and occurred_at < booking.end:
        # Released as a no-show: the late driver gets it back if a compatible spot is still free.
        try:
            booking = booking_services.booking_check_in(booking_id=booking.pk, actor=None, at=occurred_at)
        except ConflictError:
            return _deny("no_show", booking=booking, plate_index=plate_index)
        return _open("ok", booking=booking, plate_index=plate_index)
    status_reasons: dict[str, str] = {
        BookingStatus.CANCELLED: "booking_cancelled",
        BookingStatus.EXPIRED: "booking_expired",
        BookingStatus.NO_SHOW: "no_show",
        BookingStatus.COMPLETED: "booking_completed",
        BookingStatus.PENDING_PAYMENT: "payment_required",
    }
    if booking.status in status_reasons:
        return _deny(status_reasons[booking.status], booking=booking, plate_index=plate_index)
    if booking.status == BookingStatus.CHECKED_IN:
        if gate.anti_passback:
            return _deny("already_inside", booking=booking, plate_index=plate_index)
        return _open("re_entry", booking=booking, plate_index=plate_index)
    opens = booking.start - timedelta(minutes=gate.facility.early_checkin_minutes)
    if occurred_at < opens:
        return _deny("too_early", booking=booking, plate_index=plate_index)
    if occurred_at >= booking.end:
        return _deny("outside_window", booking=booking, plate_index=plate_index)
    booking = booking_services.booking_check_in(booking_id=booking.pk, actor=None, at=occurred_at)
    return _open("ok", booking=booking, plate_index=plate_index)


def _entry_by_plate(gate: Gate, occurred_at: datetime, credential: Credential) -> _Outcome:
    index = _plate_index(credential)
    if index is None:
        return _deny("invalid_credential")
    if _low_confidence(gate, credential):
        return _deny("manual_review", plate_index=index, review=True)
    early = timedelta(minutes=gate.facility.early_checkin_minutes)
    candidates = Booking.objects.filter(
        facility_id=gate.facility_id,
        plate_index=index,
        status__in=(BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.PENDING_PAYMENT),
        start__lte=occurred_at + early,
        end__gt=occurred_at,
    ).order_by("start")
    booking = next((b for b in candidates if b.status == BookingStatus.CONFIRMED), None) or candidates.first()
    if booking is not None:
        return _admit(gate, booking, occurred_at, plate_index=index)
    if _pass_covers(gate, index, occurred_at):
        return _open("pass_valid", plate_index=index)
    if not gate.allow_drive_in:
        return _deny("no_booking", plate_index=index)
    try:
        session = sessions.session_open(
            actor=None,
            facility=gate.facility,
            plate=credential.license_plate,
            vehicle_type="standard",
            source="gate",
            now=occurred_at,
        )
    except sessions.SessionAlreadyOpenError:
        return _deny("already_inside", plate_index=index)
    except ConflictError:
        return _deny("facility_full", plate_index=index)
    return _open("drive_in_started", booking=session, plate_index=index)


def _pass_covers(gate: Gate, plate_index: str, at: datetime) -> bool:
    for vehicle in Vehicle.objects.filter(plate_index=plate_index).select_related("owner"):
        covered = pricing_selectors.pass_coverage(
            driver=vehicle.owner,
            facility=gate.facility,
            vehicle_id=vehicle.pk,
            vehicle_type=vehicle.vehicle_type,
            start=at,
            end=at + timedelta(minutes=1),
        )
        if covered:
            return True
    return False


def _exit(gate: Gate, occurred_at: datetime, credential: Credential) -> _Outcome:
    refused = _direction_and_type(gate, credential, EXIT_DIRECTIONS)
    if refused is not None:
        return refused
    index = ""
    if credential.license_plate:
        found_index = _plate_index(credential)
        if found_index is None:
            return _deny("invalid_credential")
        index = found_index
        if _low_confidence(gate, credential):
            return _deny("manual_review", plate_index=index, review=True)
        booking = (
            Booking.objects.filter(facility_id=gate.facility_id, plate_index=index, status=BookingStatus.CHECKED_IN)
            .order_by("-checked_in_at")
            .first()
        )
        if booking is None:
            # Checked out moments ago and back at the barrier (paid at the booth meanwhile, say).
            booking = (
                Booking.objects.filter(
                    facility_id=gate.facility_id,
                    plate_index=index,
                    status=BookingStatus.COMPLETED,
                    checked_out_at__gte=occurred_at - RECENT_EXIT,
                )
                .order_by("-checked_out_at")
                .first()
            )
        if booking is None:
            if _pass_covers(gate, index, occurred_at):
                return _open("pass_valid", plate_index=index)
            return _deny("not_inside", plate_index=index)
    else:
        # A pass that expired with the booking's end still lets its car out (an overstay is charged).
        found = _booking_from(gate, credential, occurred_at, leeway=EXIT_QR_LEEWAY_SECONDS)
        if isinstance(found, _Outcome):
            return found
        booking = found
    return _release(booking, occurred_at, index)


def _release(booking: Booking, occurred_at: datetime, plate_index: str) -> _Outcome:
    leaving_now = booking.status == BookingStatus.CHECKED_IN
    if leaving_now:
        if booking.kind == BookingKind.DRIVE_IN:
            booking = sessions.session_end(booking_id=booking.pk, actor=None, at=occurred_at)
            _request_session_fee(booking)
        else:
            booking = booking_services.booking_check_out(booking_id=booking.pk, actor=None, at=occurred_at)
    elif booking.status != BookingStatus.COMPLETED:
        return _deny("not_inside", booking=booking, plate_index=plate_index)
    open_requests = list(Payment.objects.filter(booking=booking, status=PaymentStatus.CREATED).order_by("created_at"))
    if not open_requests:
        reason = "ok" if leaving_now else "already_checked_out"
        return _open(reason, booking=booking, plate_index=plate_index)
    due = sum(payment.amount for payment in open_requests)
    if _has_saved_card(booking):
        return _open("fee_charged_to_saved_card", booking=booking, plate_index=plate_index, amount_due=due)
    return _deny("payment_required", booking=booking, plate_index=plate_index, amount_due=due, payment=open_requests[0])


def _request_session_fee(booking: Booking) -> None:
    due = payment_services.booking_amount_due(booking)
    if due.amount > 0:
        payment_services.payment_request_fee(
            booking=booking, purpose=due.purpose, amount=due.amount, owner_amount=due.owner
        )


def _has_saved_card(booking: Booking) -> bool:
    """The off-session charge queued by payments will most likely succeed: the driver paid by Stripe
    before (their card is saved on their Stripe customer). A decline leaves the request open."""
    if booking.driver_id is None:
        return False
    return Payment.objects.filter(
        driver_id=booking.driver_id, provider="stripe", status=PaymentStatus.SUCCEEDED
    ).exists()


# ---------------------------------------------------------------------------- keys and commands


def gate_key_rotate(*, gate: Gate, actor: User | None) -> str:
    """A new key for the gate (returned once, stored hashed); every previous key stops working now."""
    key, prefix = key_generate()
    with transaction.atomic():
        GateKey.objects.filter(gate=gate, revoked_at__isnull=True).update(revoked_at=timezone.now())
        GateKey.objects.create(gate=gate, prefix=prefix, key_hash=key_hash(key), created_by=actor)
        audit_log_record(
            action=AuditAction.GATE_KEY_ROTATED, actor=actor, organization_id=gate.organization_id, target=gate
        )
    return key


def gate_key_revoke(*, gate: Gate, actor: User | None) -> int:
    with transaction.atomic():
        count = GateKey.objects.filter(gate=gate, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_log_record(
            action=AuditAction.GATE_KEY_REVOKED, actor=actor, organization_id=gate.organization_id, target=gate
        )
    return count


def gate_command_issue(*, gate: Gate, kind: str, actor: User, reason: str = "") -> GateCommand:
    """Queue a command for the gate's next poll; a remote open needs a reason and is audited."""
    if kind == CommandKind.OPEN and not reason.strip():
        raise ApplicationError("A remote open needs a reason.", code="required", attr="reason")
    with transaction.atomic():
        command = GateCommand.objects.create(gate=gate, kind=kind, reason=reason, issued_by=actor)
        if kind == CommandKind.OPEN:
            audit_log_record(
                action=AuditAction.GATE_REMOTE_OPEN,
                actor=actor,
                organization_id=gate.organization_id,
                target=gate,
                data={"reason": reason},
            )
    return command


def gate_poll(*, gate: Gate, software_version: str = "") -> list[GateCommand]:
    """The heartbeat: mark the gate online and hand over its undelivered commands, each exactly once
    (``SKIP LOCKED``: two overlapping polls never both get a command)."""
    now = timezone.now()
    with transaction.atomic():
        # Undelivered commands, and delivered ones never acknowledged (the poll answer was lost).
        commands = list(
            GateCommand.objects.select_for_update(skip_locked=True)
            .filter(gate=gate, acked_at__isnull=True)
            .filter(Q(delivered_at__isnull=True) | Q(delivered_at__lt=now - COMMAND_REDELIVERY))
            .order_by("created_at", "id")
        )
        GateCommand.objects.filter(pk__in=[c.pk for c in commands]).update(delivered_at=now)
        updates: dict[str, object] = {"last_seen_at": now}
        if gate.status not in (GateStatus.MAINTENANCE, GateStatus.ONLINE):
            updates["status"] = GateStatus.ONLINE
            gate.status = GateStatus.ONLINE
            gate_status_publish(gate, now)  # back online
        if software_version:
            updates["software_version"] = software_version[:40]
        Gate.objects.filter(pk=gate.pk).update(**updates)
        gate_alerts_close(gate=gate, now=now)
    return commands


def gate_command_ack(*, gate: Gate, command_id: int) -> GateCommand:
    with transaction.atomic():
        command = GateCommand.objects.select_for_update().filter(pk=command_id, gate=gate).first()
        if command is None:
            raise NotFoundError("Command not found.")
        if command.acked_at is None:
            command.acked_at = timezone.now()
            command.save(update_fields=["acked_at"])
    return command


GATE_FIELDS = frozenset(
    {
        "name",
        "lane",
        "direction",
        "accepted_credentials",
        "open_seconds",
        "anti_passback",
        "plate_confidence_threshold",
        "allow_drive_in",
    }
)


def gate_create(*, facility: Facility, data: dict[str, object], actor: User) -> tuple[Gate, str]:
    """Register a gate at the facility and issue its first key (returned once)."""
    with transaction.atomic():
        if Gate.objects.filter(facility=facility, name=data.get("name")).exists():
            raise ApplicationError("A gate with this name exists at the facility.", code="duplicate_gate", attr="name")
        gate = Gate.objects.create(
            organization_id=facility.organization_id,
            facility=facility,
            **{name: value for name, value in data.items() if name in GATE_FIELDS},
        )
        key = gate_key_rotate(gate=gate, actor=actor)
    return gate, key


def review_resolve(*, review_id: int, actor: User, approve: bool, note: str = "") -> ManualReview:
    """Staff decide a manual-review item. Approving opens the gate (a remote open, audited) and, for
    a plate with a booking waiting at its entry window, checks the booking in at the read time."""
    with transaction.atomic():
        review = ManualReview.objects.select_for_update().select_related("event__gate").filter(pk=review_id).first()
        if review is None:
            raise NotFoundError("Review item not found.")
        if review.status != "pending":
            raise ConflictError(f"This item is already {review.status}.", code="invalid_transition")
        review.status = "approved" if approve else "rejected"
        review.resolved_by = actor
        review.resolved_at = timezone.now()
        review.note = note[:500]
        review.save(update_fields=["status", "resolved_by", "resolved_at", "note"])
        event = review.event
        if approve:
            gate_command_issue(gate=event.gate, kind=CommandKind.OPEN, actor=actor, reason=f"manual review {review.pk}")
            if event.kind == EventKind.ENTRY and event.plate_index and event.booking_id is None:
                booking = (
                    Booking.objects.filter(
                        facility_id=event.facility_id,
                        plate_index=event.plate_index,
                        status=BookingStatus.CONFIRMED,
                        start__lte=event.occurred_at + timedelta(minutes=event.gate.facility.early_checkin_minutes),
                        end__gt=event.occurred_at,
                    )
                    .order_by("start")
                    .first()
                )
                if booking is not None:
                    booking_services.booking_check_in(booking_id=booking.pk, actor=actor, at=event.occurred_at)
                    GateEvent.objects.filter(pk=event.pk).update(booking=booking)
    return review
