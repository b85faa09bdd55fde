"""Payment workflows. Locks: booking row first, then payment row (the order booking services use),
never held across a provider call (ARCHITECTURE §6: commit, call, lock again to record).

Statuses only move forward (models.STATUS_RANK), so provider events applied in any order, any number
of times, end in the same state; the succeeded transition posts the ledger exactly once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import AuditAction, User
from app.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from bookings import services as booking_services
from bookings.models import Booking, BookingStatus
from pricing import selectors as pricing_selectors
from pricing import services as pricing_services
from pricing.fees import fee_breakdown
from pricing.models import PassProduct
from vehicles.models import Vehicle

from . import ledger, tasks
from .events import payment_succeeded_publish
from .metrics import PAYMENT_OUTCOMES
from .models import (
    FINAL_STATUSES,
    STATUS_RANK,
    MismatchKind,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    PayoutAccount,
    ReconciliationMismatch,
    Refund,
    RefundReason,
    RefundStatus,
)
from .notifications import receipt_enqueue, refund_notice_enqueue
from .providers import provider_get
from .providers.base import ProviderPayment, ProviderRefund, ProviderUnavailableError
from .split import refund_split

logger = logging.getLogger(__name__)

PAYABLE_BOOKING_STATUSES = (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
BOOKING_PURPOSES = (PaymentPurpose.BOOKING, PaymentPurpose.EXTENSION)


class AlreadyPaidError(ConflictError):
    code = "already_paid"
    default_message = "Nothing is left to pay on this booking."


class RefundExceedsRefundableError(ApplicationError):
    code = "refund_exceeds_refundable"


def _lock_payment(payment_id: uuid.UUID | str) -> Payment:
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise NotFoundError("Payment not found.")
    return payment


def _lock_booking_of(payment_booking_id: uuid.UUID | None) -> Booking | None:
    if payment_booking_id is None:
        return None
    return Booking.objects.select_for_update().filter(pk=payment_booking_id).first()


# ---------------------------------------------------------------------------- create


def _driver_provider(provider_name: str) -> None:
    """A provider a driver may pay with: configured, and not cash (staff record cash)."""
    provider_get(provider_name)
    if provider_name == "cash":
        raise PermissionDeniedError("Cash is recorded by staff at the facility.", code="cash_staff_only")


@dataclass(frozen=True)
class Due:
    amount: int
    owner: int
    platform: int
    purpose: str


def booking_amount_due(booking: Booking) -> Due:
    """What is left to pay on a booking: its total minus succeeded booking/extension payments."""
    paid = Payment.objects.filter(
        booking=booking, purpose__in=BOOKING_PURPOSES, status=PaymentStatus.SUCCEEDED
    ).aggregate(amount=Sum("amount"), owner=Sum("owner_amount"))
    amount = booking.total - (paid["amount"] or 0)
    owner = booking.owner_payout - (paid["owner"] or 0)
    purpose = PaymentPurpose.BOOKING if not paid["amount"] else PaymentPurpose.EXTENSION
    owner = max(0, min(owner, amount))
    return Due(amount=max(0, amount), owner=owner, platform=max(0, amount) - owner, purpose=purpose)


def payment_create(*, booking: Booking, driver: User, provider_name: str) -> tuple[Payment, dict[str, Any]]:
    """Start paying what is due on the driver's booking with ``provider_name``.

    Returns the payment and what the client SDK needs. The row is committed before the provider is
    called; a provider outage marks it failed (503, the driver retries with a new payment).
    """
    _driver_provider(provider_name)
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status not in PAYABLE_BOOKING_STATUSES:
            raise ConflictError(f"A {locked.status} booking cannot be paid.", code="invalid_transition")
        due = booking_amount_due(locked)
        if due.amount == 0:
            raise AlreadyPaidError()
        payment = Payment.objects.create(
            organization_id=locked.organization_id,
            driver=driver,
            booking=locked,
            purpose=due.purpose,
            description=f"Parking {locked.reference}",
            amount=due.amount,
            owner_amount=due.owner,
            platform_amount=due.platform,
            currency=locked.currency,
            provider=provider_name,
        )
    return _start_checkout(payment, provider_name, driver)


def _start_checkout(payment: Payment, provider_name: str, driver: User) -> tuple[Payment, dict[str, Any]]:
    """Call the provider for a committed payment row (no lock held), then record its id and state."""
    provider = provider_get(provider_name)
    try:
        checkout = provider.create_payment(payment=payment, customer=driver)
    except ApplicationError as exc:
        Payment.objects.filter(pk=payment.pk).update(
            status=PaymentStatus.FAILED, failure_reason=exc.message[:500], updated_at=timezone.now()
        )
        raise
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        payment.provider_payment_id = checkout.provider_payment_id
        payment.save(update_fields=["provider_payment_id", "updated_at"])
    payment = payment_apply_provider_state(
        payment_id=payment.pk,
        state=ProviderPayment(provider_payment_id=checkout.provider_payment_id, status=checkout.status),
    )
    return payment, checkout.client_data


def payment_request_pay(*, payment: Payment, driver: User, provider_name: str) -> tuple[Payment, dict[str, Any]]:
    """The driver pays an open payment request (a fee with no provider yet) with ``provider_name``."""
    _driver_provider(provider_name)
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        if payment.provider or payment.status != PaymentStatus.CREATED:
            raise ConflictError("This payment is not an open payment request.", code="invalid_transition")
        payment.provider = provider_name
        payment.save(update_fields=["provider", "updated_at"])
    return _start_checkout(payment, provider_name, driver)


def payment_pass_create(
    *, product: PassProduct, driver: User, vehicle: Vehicle | None, start: datetime, provider_name: str
) -> tuple[Payment, dict[str, Any]]:
    """Buy a pass: a ``pending_payment`` pass and its payment (price plus the organization's fees);
    the pass becomes active when the payment succeeds."""
    _driver_provider(provider_name)
    with transaction.atomic():
        pass_ = pricing_services.pass_create_pending(product=product, driver=driver, vehicle=vehicle, start=start)
        service_fee_percent, transaction_fee = pricing_selectors.fee_policy_for(product.organization_id)
        fees = fee_breakdown(
            parking_amount=product.price, service_fee_percent=service_fee_percent, transaction_fee=transaction_fee
        )
        payment = Payment.objects.create(
            organization_id=product.organization_id,
            driver=driver,
            pass_purchase=pass_,
            purpose=PaymentPurpose.PASS,
            description=f"{product.name} pass",
            amount=fees.total,
            owner_amount=fees.owner_payout,
            platform_amount=fees.platform_revenue,
            currency=product.facility.currency,
            provider=provider_name,
        )
    return _start_checkout(payment, provider_name, driver)


def payment_record_cash(*, booking: Booking, actor: User, amount: int | None = None) -> Payment:
    """Staff took cash at the booth/gate for what is due on the booking (audited)."""
    provider_get("cash")
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status not in (*PAYABLE_BOOKING_STATUSES, BookingStatus.COMPLETED):
            raise ConflictError(f"A {locked.status} booking cannot be paid.", code="invalid_transition")
        due = booking_amount_due(locked)
        if due.amount == 0:
            raise AlreadyPaidError()
        if amount is not None and amount != due.amount:
            raise ApplicationError(
                f"Exactly {due.amount} is due on this booking.", code="amount_mismatch", attr="amount"
            )
        payment = Payment.objects.create(
            organization_id=locked.organization_id,
            driver=locked.driver,
            booking=locked,
            purpose=due.purpose,
            description=f"Parking {locked.reference} (cash)",
            amount=due.amount,
            owner_amount=due.owner,
            platform_amount=due.platform,
            currency=locked.currency,
            provider="cash",
            recorded_by=actor,
        )
        payment.provider_payment_id = f"cash_{payment.pk.hex}"
        payment.save(update_fields=["provider_payment_id"])
        audit_log_record(
            action=AuditAction.CASH_PAYMENT_RECORDED,
            actor=actor,
            organization_id=locked.organization_id,
            target=payment,
            data={"amount": payment.amount, "currency": payment.currency, "booking": locked.reference},
        )
        _succeed(payment, locked)
    return payment


# ---------------------------------------------------------------------------- provider state


def payment_apply_provider_state(*, payment_id: uuid.UUID, state: ProviderPayment) -> Payment:
    """Apply what the provider says (webhook, verify call, reconciliation). Forward-only and
    idempotent; a wrong amount or currency is never accepted as paid (a mismatch for staff)."""
    booking_id = Payment.objects.filter(pk=payment_id).values_list("booking_id", flat=True).first()
    with transaction.atomic():
        booking = _lock_booking_of(booking_id)
        payment = _lock_payment(payment_id)
        if state.status is None or STATUS_RANK[state.status] <= STATUS_RANK[payment.status]:
            return payment
        if payment.status in FINAL_STATUSES:
            return payment
        if state.status == PaymentStatus.SUCCEEDED and not _amount_matches(payment, state):
            _mismatch(
                payment,
                MismatchKind.AMOUNT,
                f"provider reports {state.amount} {state.currency}, expected {payment.amount} {payment.currency}",
            )
            return payment
        payment.status = state.status
        if state.failure_reason:
            payment.failure_reason = state.failure_reason[:500]
        if state.card_brand:
            payment.card_brand, payment.card_last4 = state.card_brand[:20], state.card_last4[:4]
        payment.save(update_fields=["status", "failure_reason", "card_brand", "card_last4", "updated_at"])
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED):
            outcome = PAYMENT_OUTCOMES.labels(provider=payment.provider or "none", status=payment.status)
            transaction.on_commit(outcome.inc)
        if payment.status == PaymentStatus.SUCCEEDED:
            _succeed(payment, booking)
    return payment


def _amount_matches(payment: Payment, state: ProviderPayment) -> bool:
    amount_ok = state.amount is None or state.amount == payment.amount
    currency_ok = state.currency is None or state.currency.upper() == payment.currency
    return amount_ok and currency_ok


def _mismatch(payment: Payment, kind: str, detail: str) -> None:
    ReconciliationMismatch.objects.get_or_create(
        payment=payment, kind=kind, resolved_at=None, defaults={"detail": detail[:500]}
    )
    logger.warning("payments: %s mismatch on payment %s: %s", kind, payment.pk, detail)


def _succeed(payment: Payment, booking: Booking | None) -> None:
    """The payment became ``succeeded`` (rows locked): ledger, receipt, booking confirmation — or an
    automatic refund when the booking can no longer be had (its hold expired or it was cancelled)."""
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.save(update_fields=["status", "succeeded_at", "updated_at"])
    ledger.post_payment(payment)
    receipt_enqueue(payment)
    if payment.purpose == PaymentPurpose.PASS and payment.pass_purchase_id is not None:
        pricing_services.pass_activate(pass_id=payment.pass_purchase_id)
        return
    if not payment_succeeded_publish(payment):
        _reserve_refund(payment, amount=payment.amount, reason=RefundReason.NOT_OWED, actor=None, note="no longer owed")
        return
    if booking is None or payment.purpose not in BOOKING_PURPOSES:
        return
    if booking.status == BookingStatus.PENDING_PAYMENT:
        booking_services.booking_confirm(booking_id=booking.pk)
    elif booking.status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED):
        _reserve_refund(
            payment,
            amount=payment.amount,
            reason=RefundReason.HOLD_EXPIRED,
            actor=None,
            note=f"paid after the booking became {booking.status}",
        )


# ---------------------------------------------------------------------------- refunds


def _reserve_refund(
    payment: Payment, *, amount: int, reason: str, actor: User | None, note: str = "", needs_approval: bool = False
) -> Refund:
    """Create a refund and reserve its amount on the (locked) payment; executed after commit."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise ConflictError("Only a succeeded payment can be refunded.", code="invalid_transition")
    if amount <= 0 or amount > payment.refundable_amount:
        raise RefundExceedsRefundableError(f"At most {payment.refundable_amount} can still be refunded.", attr="amount")
    taken = Refund.objects.filter(
        payment=payment, status__in=(RefundStatus.PENDING_APPROVAL, RefundStatus.PENDING, RefundStatus.SUCCEEDED)
    ).aggregate(owner=Sum("owner_amount"), platform=Sum("platform_amount"))
    split = refund_split(
        amount=amount,
        reason=reason,
        payment_amount=payment.amount,
        payment_platform=payment.platform_amount,
        owner_left=payment.owner_amount - (taken["owner"] or 0),
        platform_left=payment.platform_amount - (taken["platform"] or 0),
    )
    payment.refunded_amount += amount
    payment.save(update_fields=["refunded_amount", "updated_at"])
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        owner_amount=split.owner,
        platform_amount=split.platform,
        reason=reason,
        note=note[:500],
        status=RefundStatus.PENDING_APPROVAL if needs_approval else RefundStatus.PENDING,
        requested_by=actor,
    )
    if not needs_approval:
        refund_id = refund.pk
        transaction.on_commit(lambda: _kick_refund(refund_id))
    return refund


def _enqueue(task: Any, object_id: uuid.UUID, what: str) -> None:
    """Queue ``task(object_id)``; a broker outage must not fail the caller (a beat job catches up)."""
    try:
        task.delay(str(object_id))
    except Exception:
        logger.warning("payments: could not queue %s %s; a job catches up", what, object_id, exc_info=True)


def _kick_refund(refund_id: uuid.UUID) -> None:
    _enqueue(tasks.refund_execute_task, refund_id, "refund")


def _approval_needed(payment: Payment, amount: int) -> bool:
    threshold = (
        PayoutAccount.objects.filter(organization_id=payment.organization_id)
        .values_list("refund_approval_threshold", flat=True)
        .first()
    )
    return threshold is not None and amount > threshold


def refund_request(
    *, payment_id: uuid.UUID | str, actor: User, amount: int | None, reason: str, note: str = ""
) -> Refund:
    """Staff ask for a refund (default: everything still refundable). Above the organization's
    threshold it waits for a second staff member's approval. Never more than what is refundable,
    also when requests race (the payment row is locked and the database re-checks)."""
    booking_id = Payment.objects.filter(pk=payment_id).values_list("booking_id", flat=True).first()
    with transaction.atomic():
        _lock_booking_of(booking_id)
        payment = _lock_payment(payment_id)
        amount = payment.refundable_amount if amount is None else amount
        refund = _reserve_refund(
            payment,
            amount=amount,
            reason=reason,
            actor=actor,
            note=note,
            needs_approval=_approval_needed(payment, amount),
        )
        audit_log_record(
            action=AuditAction.REFUND_REQUESTED,
            actor=actor,
            organization_id=payment.organization_id,
            target=refund,
            data={"amount": amount, "currency": payment.currency, "reason": reason, "status": refund.status},
        )
    return refund


def refund_approve(*, refund_id: uuid.UUID | str, actor: User) -> Refund:
    """A second staff member approves a refund above the threshold; it is then executed."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id).first()
        if refund is None:
            raise NotFoundError("Refund not found.")
        if refund.status != RefundStatus.PENDING_APPROVAL:
            raise ConflictError(f"A {refund.status} refund cannot be approved.", code="invalid_transition")
        if refund.requested_by_id == actor.pk:
            raise PermissionDeniedError("A refund must be approved by someone else.", code="same_approver")
        refund.status = RefundStatus.PENDING
        refund.approved_by = actor
        refund.save(update_fields=["status", "approved_by", "updated_at"])
        audit_log_record(
            action=AuditAction.REFUND_APPROVED,
            actor=actor,
            organization_id=refund.payment.organization_id,
            target=refund,
            data={"amount": refund.amount},
        )
        refund_pk = refund.pk
        transaction.on_commit(lambda: _kick_refund(refund_pk))
    return refund


def refund_execute(*, refund_id: uuid.UUID | str) -> Refund:
    """Call the provider for a pending refund (idempotency key ``refund-<id>``: calling again, after a
    timeout or from a second worker, returns the same provider refund), then record the result."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING or refund.provider_refund_id:
        return refund
    provider = provider_get(refund.payment.provider)
    try:
        result = provider.refund(payment=refund.payment, refund=refund)
    except ProviderUnavailableError:
        Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now())  # retried later
        raise
    except ApplicationError as exc:
        result = ProviderRefund(provider_refund_id="", status=RefundStatus.FAILED, failure_reason=exc.message)
    return refund_apply_provider_state(refund_id=refund.pk, state=result)


def refund_apply_provider_state(*, refund_id: uuid.UUID, state: ProviderRefund) -> Refund:
    """Record what the provider says about a refund (call result or webhook); forward-only."""
    booking_id = Refund.objects.filter(pk=refund_id).values_list("payment__booking_id", flat=True).first()
    payment_id = Refund.objects.filter(pk=refund_id).values_list("payment_id", flat=True).get()
    with transaction.atomic():
        _lock_booking_of(booking_id)
        payment = _lock_payment(payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if state.provider_refund_id and not refund.provider_refund_id:
            refund.provider_refund_id = state.provider_refund_id
        if refund.status not in (RefundStatus.PENDING,):
            refund.save(update_fields=["provider_refund_id", "updated_at"])
            return refund
        if state.status == RefundStatus.SUCCEEDED:
            refund.status = RefundStatus.SUCCEEDED
            refund.completed_at = timezone.now()
            ledger.post_refund(refund, payment)
            refund_notice_enqueue(refund)
        elif state.status == RefundStatus.FAILED:
            refund.status = RefundStatus.FAILED
            refund.failure_reason = state.failure_reason[:500]
            refund.completed_at = timezone.now()
            payment.refunded_amount -= refund.amount  # release the reservation
            payment.save(update_fields=["refunded_amount", "updated_at"])
        refund.save(update_fields=["provider_refund_id", "status", "failure_reason", "completed_at", "updated_at"])
    return refund


# ---------------------------------------------------------------------------- booking events


def on_booking_event(event: str, booking: Booking, actor: User | None) -> None:
    """bookings.events listener (runs inside the booking's transaction, booking locked): refund a
    cancellation or an early exit from the booking's succeeded payments, newest first."""
    from bookings.events import BOOKING_CANCELLED, BOOKING_CHECKED_OUT, BOOKING_NO_SHOW

    if event == BOOKING_NO_SHOW:
        _settle_no_show(booking, actor)
        return
    if event == BOOKING_CANCELLED:
        amount, reason = booking.refund_amount or 0, RefundReason.CANCELLATION
    elif event == BOOKING_CHECKED_OUT:
        amount, reason = booking.early_exit_refund_amount or 0, RefundReason.EARLY_EXIT
        if booking.overstay_amount:
            payment_request_fee(booking=booking, purpose=PaymentPurpose.OVERSTAY, amount=booking.overstay_amount)
    else:
        return
    payments = Payment.objects.select_for_update().filter(
        booking=booking, purpose__in=BOOKING_PURPOSES, status=PaymentStatus.SUCCEEDED
    )
    for payment in payments.order_by("-succeeded_at"):
        if amount <= 0:
            break
        part = min(amount, payment.refundable_amount)
        if part > 0:
            _reserve_refund(payment, amount=part, reason=reason, actor=actor, note=f"booking {booking.reference}")
            amount -= part


def _settle_no_show(booking: Booking, actor: User | None) -> None:
    """A no-show (booking locked): a paid booking keeps the fee and refunds the rest of the
    (discounted) parking amount, never the platform's fees (``no_show_adjustment``); an unpaid one
    (pay on exit) gets a payment request for the fee. Runs once: the status change happens once."""
    fee = booking.no_show_fee or 0
    payments = list(
        Payment.objects.select_for_update()
        .filter(booking=booking, purpose__in=BOOKING_PURPOSES, status=PaymentStatus.SUCCEEDED)
        .order_by("-succeeded_at")
    )
    if not payments:
        if fee > 0:
            payment_request_fee(booking=booking, purpose=PaymentPurpose.NO_SHOW_FEE, amount=fee)
        return
    amount = max(0, booking.parking_amount - booking.discount_amount - fee)
    for payment in payments:
        part = min(amount, payment.refundable_amount, payment.owner_amount)
        if part > 0:
            _reserve_refund(
                payment,
                amount=part,
                reason=RefundReason.NO_SHOW_ADJUSTMENT,
                actor=actor,
                note=f"no-show {booking.reference}",
            )
            amount -= part


def payment_request_fee(
    *, booking: Booking, purpose: str, amount: int, owner_amount: int | None = None, description: str = ""
) -> Payment:
    """An open payment request for a fee (overstay, no-show, a drive-in session …) on a booking; see
    ``payment_request``."""
    return payment_request(
        organization_id=booking.organization_id,
        driver=booking.driver,
        currency=booking.currency,
        purpose=purpose,
        amount=amount,
        owner_amount=owner_amount,
        description=description or f"{PaymentPurpose(purpose).label} {booking.reference}",
        booking=booking,
    )


def payment_request(
    *,
    organization_id: uuid.UUID,
    driver: User | None,
    currency: str,
    purpose: str,
    amount: int,
    description: str,
    owner_amount: int | None = None,
    booking: Booking | None = None,
) -> Payment:
    """An open payment request (a fee or a fine, with or without a booking), the owner's in full
    unless ``owner_amount`` says otherwise (the platform gets the rest). Runs in the caller's
    transaction. After commit a saved Stripe card is charged off-session when the driver has one;
    otherwise (or when declined) the request stays open in the driver's payments until they pay it."""
    payment = Payment.objects.create(
        organization_id=organization_id,
        driver=driver,
        booking=booking,
        purpose=purpose,
        description=description[:200],
        amount=amount,
        owner_amount=amount if owner_amount is None else owner_amount,
        platform_amount=0 if owner_amount is None else amount - owner_amount,
        currency=currency,
        provider="",
    )
    if driver is not None:
        payment_id = payment.pk
        transaction.on_commit(lambda: _kick_off_session(payment_id))
    return payment


def payment_request_withdraw(*, payment_id: uuid.UUID, actor: User | None, note: str) -> Refund | None:
    """The money a request asked for is no longer owed (a fine waived or cancelled). Runs in the
    caller's transaction. An open request nobody started paying is cancelled; a succeeded one is
    refunded in full (returned); one being paid right now is left alone: if it succeeds, the
    ``payments.events`` listener says it is not owed and it is refunded then."""
    payment = _lock_payment(payment_id)
    if payment.status == PaymentStatus.CREATED and not payment.provider:
        payment.status = PaymentStatus.CANCELLED
        payment.failure_reason = note[:500]
        payment.save(update_fields=["status", "failure_reason", "updated_at"])
        return None
    if payment.status == PaymentStatus.SUCCEEDED and payment.refundable_amount > 0:
        return _reserve_refund(
            payment, amount=payment.refundable_amount, reason=RefundReason.NOT_OWED, actor=actor, note=note
        )
    return None


def _kick_off_session(payment_id: uuid.UUID) -> None:
    _enqueue(tasks.payment_charge_off_session_task, payment_id, "off-session charge")


def payment_charge_off_session(*, payment_id: uuid.UUID | str) -> Payment:
    """Try the driver's saved Stripe card for an open request; a decline or no saved card leaves it open."""
    payment = Payment.objects.select_related("driver").get(pk=payment_id)
    if payment.provider or payment.status != PaymentStatus.CREATED or payment.driver is None:
        return payment
    try:
        stripe_provider = provider_get("stripe")
    except ApplicationError:
        return payment  # Stripe not configured here: the driver pays the request themselves
    with transaction.atomic():
        locked = _lock_payment(payment.pk)
        if locked.provider:
            return locked
        locked.provider = "stripe"
        locked.save(update_fields=["provider", "updated_at"])
    try:
        state = stripe_provider.charge_off_session(payment=locked, customer=payment.driver)
    except ApplicationError as exc:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            provider="", failure_reason=exc.message[:500], updated_at=timezone.now()
        )
        return Payment.objects.get(pk=payment.pk)
    Payment.objects.filter(pk=payment.pk).update(provider_payment_id=state.provider_payment_id)
    return payment_apply_provider_state(payment_id=payment.pk, state=state)


# ---------------------------------------------------------------------------- sandbox


def payment_sandbox_confirm(*, payment: Payment) -> Payment:
    """The demo provider's "pay" button (only while the sandbox provider is enabled)."""
    provider_get("sandbox")
    if payment.provider != "sandbox":
        raise ConflictError("Only sandbox payments can be confirmed this way.", code="invalid_transition")
    return payment_apply_provider_state(
        payment_id=payment.pk,
        state=ProviderPayment(provider_payment_id=payment.provider_payment_id, status=PaymentStatus.SUCCEEDED),
    )


# ---------------------------------------------------------------------------- reconciliation


def payments_reconcile(*, now: datetime | None = None, stale_minutes: int = 10, batch_size: int = 100) -> int:
    """Beat job: fetch payments stuck open for ``stale_minutes`` from their provider and apply the
    answer as a webhook would; retry refunds still pending. Idempotent. Returns how many changed."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=stale_minutes)
    changed = 0
    stuck = list(
        Payment.objects.filter(
            status__in=(PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING),
            updated_at__lt=cutoff,
        )
        .exclude(Q(provider="") | Q(provider="cash") | Q(provider_payment_id=""))
        .order_by("updated_at")[:batch_size]
    )
    for payment in stuck:
        try:
            state = provider_get(payment.provider).fetch_payment(payment=payment)
        except ApplicationError as exc:
            logger.warning("payments: reconcile %s: %s", payment.pk, exc.message)
            continue
        if state.status is None:
            continue
        before = payment.status
        after = payment_apply_provider_state(payment_id=payment.pk, state=state)
        changed += after.status != before
    pending = Refund.objects.filter(
        status=RefundStatus.PENDING, provider_refund_id="", updated_at__lt=now - timedelta(minutes=2)
    )
    for refund_id in list(pending.values_list("pk", flat=True)[:batch_size]):
        try:
            refund_execute(refund_id=refund_id)
            changed += 1
        except ApplicationError as exc:
            logger.warning("payments: refund %s still pending: %s", refund_id, exc.message)
    return changed
