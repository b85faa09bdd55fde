"""Booking writes. Lock order (ARCHITECTURE §6): spot rows (primary-key order) → booking row.

No provider call or email happens inside these transactions; side effects run after commit.
"""

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from app.db import set_lock_timeout
from app.events import event_publish
from app.exceptions import ApplicationError, NotFoundError
from parking import availability
from parking.availability import SpotRequirements
from parking.cache import facility_cache_bump
from parking.compatibility import SIZE_ORDER
from parking.models import Facility, Spot, SpotCategory, Zone
from parking.windows import window_validate
from pricing.engine import PricingContext, quote_stay
from pricing.exceptions import NoApplicableRuleError, from_engine
from pricing.fees import fee_breakdown, percent_of
from pricing.models import Quote
from pricing.money import round_half_up
from pricing.schemas import PricingError
from pricing.selectors import fee_policy_for, rule_select, rules_for_facilities
from pricing.services import QuoteRequest, discount_redeem, quote_create
from vehicles.models import Vehicle, VehicleType

from .events import BOOKING_CANCELLED, BOOKING_CHECKED_OUT, BOOKING_NO_SHOW, booking_event_publish, overstay_adjust
from .exceptions import (
    InvalidTransitionError,
    QuoteExpiredError,
    QuoteMismatchError,
    SpotUnavailableError,
    VehicleDoesNotFitError,
)
from .metrics import BOOKING_CONFLICTS, BOOKINGS_CREATED
from .models import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    Booking,
    BookingEvent,
    BookingKind,
    BookingSource,
    BookingStatus,
    OutboxKind,
)
from .outbox import outbox_enqueue, outbox_enqueue_once

HOLD_DURATION = timedelta(minutes=15)
LOCK_TIMEOUT_MS = 3000
# Unambiguous characters only (no 0/O, 1/I/L, U): references are read out over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
EXCLUSION_VIOLATION = "23P01"


def new_reference() -> str:
    return "PKM-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def _set_lock_timeout() -> None:
    """Bound lock waits inside the current transaction: a timeout is "busy" (409 + Retry-After)."""
    set_lock_timeout(LOCK_TIMEOUT_MS)


def _is_overlap_violation(exc: IntegrityError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == EXCLUSION_VIOLATION


def _requirements(vehicle: Vehicle) -> SpotRequirements:
    return SpotRequirements(vehicle_type=vehicle.vehicle_type, is_ev=vehicle.is_ev)


def _best_fit_key(vehicle: Vehicle) -> Callable[[Spot], tuple[int, int, str, int]]:
    """Smallest compatible size first, then the category made for this vehicle, then a stable order,
    so large spots stay free for large vehicles and EV/accessible spots for those who need them."""
    preferred = (
        SpotCategory.MOTORCYCLE
        if vehicle.vehicle_type == VehicleType.MOTORCYCLE
        else SpotCategory.EV
        if vehicle.is_ev
        else SpotCategory.STANDARD
    )
    rank: dict[str, int] = {
        preferred: 0,
        SpotCategory.STANDARD: 1,
        SpotCategory.VIP: 2,
        SpotCategory.EV: 3,
        SpotCategory.ACCESSIBLE: 4,
    }

    def key(spot: Spot) -> tuple[int, int, str, int]:
        return (SIZE_ORDER.index(spot.size), rank.get(spot.category, 5), spot.code, spot.pk)

    return key


# ---------------------------------------------------------------------------- quotes


def _quote_for(
    *,
    driver: User,
    vehicle: Vehicle,
    facility: Facility,
    spot: Spot | None,
    start: datetime,
    end: datetime,
    quote_id: uuid.UUID | None,
    promo_code: str,
) -> Quote:
    """The quote the booking charges: the given one (unexpired, matching) or a fresh one."""
    if quote_id is None:
        return quote_create(
            QuoteRequest(
                facility=facility,
                spot=spot,
                start=start,
                end=end,
                vehicle_type=vehicle.vehicle_type,
                vehicle=vehicle,
                driver=driver,
                promo_code=promo_code,
            )
        )
    quote = Quote.objects.filter(pk=quote_id).first()
    if quote is None:
        raise ApplicationError("Unknown quote.", code="does_not_exist", attr="quote_id")
    if quote.expires_at <= timezone.now():
        raise QuoteExpiredError()
    matches = (
        quote.facility_id == facility.pk
        and quote.spot_id == (spot.pk if spot else None)
        and quote.start == start
        and quote.end == end
        and quote.vehicle_type == vehicle.vehicle_type
        and quote.driver_id in (None, driver.pk)
    )
    if not matches:
        raise QuoteMismatchError()
    return quote


# ---------------------------------------------------------------------------- create


@dataclass(frozen=True)
class BookingRequest:
    driver: User
    vehicle: Vehicle
    facility: Facility
    start: datetime
    end: datetime
    spot: Spot | None = None
    zone: Zone | None = None
    quote_id: uuid.UUID | None = None
    promo_code: str = ""
    source: str = BookingSource.APP


def _free_candidates(request: BookingRequest) -> list[Spot]:
    queryset = availability.spots_free(
        start=request.start, end=request.end, requirements=_requirements(request.vehicle)
    )
    queryset = queryset.filter(facility=request.facility)
    if request.zone is not None:
        queryset = queryset.filter(zone=request.zone)
    return sorted(queryset, key=_best_fit_key(request.vehicle))


def _still_free(spot: Spot, request: BookingRequest) -> bool:
    """Re-check under the spot lock with the one availability selector (committed data)."""
    return (
        availability.spots_free(start=request.start, end=request.end, requirements=_requirements(request.vehicle))
        .filter(pk=spot.pk)
        .exists()
    )


def _claim_spot(request: BookingRequest) -> Spot:
    """Lock and re-check a spot inside the current transaction. Must be called in ``atomic()``.

    A named spot is locked (waiting at most ``lock_timeout``); for a facility-level request the
    candidates are tried in best-fit order with ``SKIP LOCKED``, so concurrent requests spread over
    distinct spots instead of queueing on (or deadlocking over) the same ones.
    """
    if request.spot is not None:
        locked = Spot.objects.select_for_update().filter(pk=request.spot.pk).first()
        if locked is None or not _still_free(locked, request):
            raise SpotUnavailableError()
        return locked
    for candidate in _free_candidates(request):
        locked = Spot.objects.select_for_update(skip_locked=True).filter(pk=candidate.pk).first()
        if locked is not None and _still_free(locked, request):
            return locked
    raise SpotUnavailableError("No compatible spot is free for this window.")


def _record(booking: Booking, *, from_status: str, actor: User | None, reason: str = "") -> None:
    """History row for a change of the (locked) booking, and its domain events for webhooks and live
    screens (``booking.created``/``booking.updated`` to the organization and the driver, and
    ``spot.availability`` to the organization), in the same transaction."""
    BookingEvent.objects.create(
        booking=booking, from_status=from_status, to_status=booking.status, actor=actor, reason=reason
    )
    event_publish(
        "booking.updated" if from_status else "booking.created",
        {
            "id": str(booking.pk),
            "reference": booking.reference,
            "kind": booking.kind,
            "status": booking.status,
            "from_status": from_status or None,
            "facility": booking.facility_id,
            "spot": booking.spot_id,
            "start": booking.start.isoformat(),
            "end": booking.end.isoformat(),
            "reason": reason,
        },
        organization_id=booking.organization_id,
        user_ids=[booking.driver_id],
    )
    spot_availability_publish(
        organization_id=booking.organization_id, facility_id=booking.facility_id, spot_id=booking.spot_id
    )


def spot_availability_publish(*, organization_id: uuid.UUID, facility_id: int, spot_id: int) -> None:
    event_publish("spot.availability", {"facility": facility_id, "spot": spot_id}, organization_id=organization_id)


def booking_create(request: BookingRequest) -> Booking:
    """Reserve a spot (the named one, or the best-fit free one of the facility/zone) for the window.

    Validates ownership, fit and the window first; prices it (quote) outside any lock; then, in one
    transaction, locks the spot, re-checks availability and inserts. Raises SpotUnavailableError (409)
    when taken — also when the exclusion constraint catches a write that raced past the checks.
    """
    driver, vehicle, facility = request.driver, request.vehicle, request.facility
    if vehicle.owner_id != driver.pk:
        raise ApplicationError("No such vehicle among yours.", code="does_not_exist", attr="vehicle")
    window_validate(facility=facility, start=request.start, end=request.end)
    if request.spot is not None:
        if request.spot.facility_id != facility.pk:
            raise ApplicationError("The spot is not in this facility.", code="invalid", attr="spot")
        fits = Spot.objects.filter(pk=request.spot.pk).filter(_requirements(vehicle).filter()).exists()
        if not fits:
            raise VehicleDoesNotFitError()
    if request.zone is not None and request.zone.facility_id != facility.pk:
        raise ApplicationError("The zone is not in this facility.", code="invalid", attr="zone")
    quote = _quote_for(
        driver=driver,
        vehicle=vehicle,
        facility=facility,
        spot=request.spot,
        start=request.start,
        end=request.end,
        quote_id=request.quote_id,
        promo_code=request.promo_code,
    )
    confirmed = not facility.requires_prepayment
    try:
        with transaction.atomic():
            _set_lock_timeout()
            try:
                spot = _claim_spot(request)
            except SpotUnavailableError:
                BOOKING_CONFLICTS.inc()
                raise
            booking = Booking.objects.create(
                reference=new_reference(),
                source=request.source,
                driver=driver,
                vehicle=vehicle,
                vehicle_type=vehicle.vehicle_type,
                plate=vehicle.plate,
                plate_index=vehicle.plate_index,
                organization_id=facility.organization_id,
                facility=facility,
                zone_id=spot.zone_id,
                spot=spot,
                start=request.start,
                end=request.end,
                status=BookingStatus.CONFIRMED if confirmed else BookingStatus.PENDING_PAYMENT,
                hold_expires_at=None if confirmed else timezone.now() + HOLD_DURATION,
                quote=quote,
                quote_snapshot={
                    "line_items": quote.line_items,
                    "explanation": quote.explanation,
                    "applied_rule": quote.applied_rule_name,
                },
                currency=quote.currency,
                parking_amount=quote.parking_amount,
                discount_amount=quote.discount_amount,
                service_fee=quote.service_fee,
                transaction_fee=quote.transaction_fee,
                total=quote.total,
                owner_payout=quote.owner_payout,
                platform_revenue=quote.platform_revenue,
                promo_code=quote.promo_code,
                access_code=f"{secrets.randbelow(10**6):06d}" if facility.kind == "driveway" else "",
            )
            _record(booking, from_status="", actor=driver)
            if confirmed and quote.discount_id:
                discount_redeem(
                    discount_id=quote.discount_id,
                    user=driver,
                    reference=booking.reference,
                    amount=quote.discount_amount,
                )
            if confirmed:
                outbox_enqueue(kind=OutboxKind.BOOKING_CONFIRMED, booking=booking)
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            BOOKING_CONFLICTS.inc()
            raise SpotUnavailableError() from exc
        raise
    transaction.on_commit(lambda: facility_cache_bump(facility.pk))
    transaction.on_commit(lambda: BOOKINGS_CREATED.labels(kind=booking.kind, source=booking.source).inc())
    return booking


# ---------------------------------------------------------------------------- transitions


def _lock_booking(booking_id: uuid.UUID) -> Booking:
    booking = Booking.objects.select_for_update().filter(pk=booking_id).first()
    if booking is None:
        raise NotFoundError("Booking not found.")
    return booking


def _transition(booking: Booking, to_status: str) -> str:
    if to_status not in TRANSITIONS[booking.status]:
        raise InvalidTransitionError(f"A {booking.status} booking cannot become {to_status}.")
    previous = booking.status
    booking.status = to_status
    return previous


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling now gives back (minor units). ``free`` when inside the free-cancellation window."""

    refund_amount: int
    kept_amount: int
    free: bool


def cancellation_preview(*, booking: Booking, at: datetime | None = None) -> CancellationTerms:
    """The facility's cancellation policy applied at ``at`` (default now).

    * unpaid hold (``pending_payment``): nothing was charged, nothing to refund;
    * ``confirmed`` at least ``free_cancellation_minutes`` before the start: everything back;
    * later: the owner keeps ``late_cancellation_fee_percent`` of the (discounted) parking amount and
      the platform keeps its fees; the rest is refunded. Percentages round half-up.
    """
    at = at or timezone.now()
    if booking.status == BookingStatus.PENDING_PAYMENT:
        return CancellationTerms(refund_amount=0, kept_amount=0, free=True)
    if booking.status == BookingStatus.CHECKED_IN or BookingStatus.CANCELLED not in TRANSITIONS[booking.status]:
        raise InvalidTransitionError(f"A {booking.status} booking cannot be cancelled.")
    facility = booking.facility
    if at <= booking.start - timedelta(minutes=facility.free_cancellation_minutes):
        return CancellationTerms(refund_amount=booking.total, kept_amount=0, free=True)
    late_fee = percent_of(booking.parking_amount - booking.discount_amount, facility.late_cancellation_fee_percent)
    kept = min(booking.total, late_fee + booking.service_fee + booking.transaction_fee)
    return CancellationTerms(refund_amount=booking.total - kept, kept_amount=kept, free=False)


def booking_cancel(
    *, booking_id: uuid.UUID, actor: User, reason: str = "", full_refund: bool = False
) -> tuple[Booking, CancellationTerms]:
    """Cancel with exactly the previewed refund (recorded; payments executes it). ``full_refund``:
    the platform's own failure (the spot was occupied on arrival): everything back, and a parked
    booking may be cancelled too."""
    with transaction.atomic():
        _set_lock_timeout()
        booking = _lock_booking(booking_id)
        if full_refund and booking.status in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
            terms = CancellationTerms(refund_amount=booking.total, kept_amount=0, free=True)
        elif booking.status == BookingStatus.CHECKED_IN:
            raise InvalidTransitionError("A parked booking cannot be cancelled; check out instead.")
        else:
            terms = cancellation_preview(booking=booking)
        previous = _transition(booking, BookingStatus.CANCELLED)
        booking.cancellation_reason = reason
        booking.refund_amount = terms.refund_amount
        booking.hold_expires_at = None
        booking.save(update_fields=["status", "cancellation_reason", "refund_amount", "hold_expires_at", "updated_at"])
        _record(booking, from_status=previous, actor=actor, reason=reason)
        outbox_enqueue(kind=OutboxKind.BOOKING_CANCELLED, booking=booking)
        booking_event_publish(BOOKING_CANCELLED, booking, actor)
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking, terms


def booking_confirm(*, booking_id: uuid.UUID, actor: User | None = None) -> Booking:
    """Payment received: ``pending_payment`` → ``confirmed`` (idempotent) and count the promo code."""
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if booking.status == BookingStatus.CONFIRMED:
            return booking
        previous = _transition(booking, BookingStatus.CONFIRMED)
        booking.hold_expires_at = None
        booking.save(update_fields=["status", "hold_expires_at", "updated_at"])
        _record(booking, from_status=previous, actor=actor, reason="payment received")
        outbox_enqueue(kind=OutboxKind.BOOKING_CONFIRMED, booking=booking)
        if booking.quote is not None and booking.quote.discount_id and booking.driver is not None:
            discount_redeem(
                discount_id=booking.quote.discount_id,
                user=booking.driver,
                reference=booking.reference,
                amount=booking.discount_amount,
            )
    return booking


def bookings_expire_unpaid(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Expire unpaid holds whose time is up (a beat job; idempotent, safe with several workers:
    ``SKIP LOCKED`` batches). Returns how many expired in this run (bounded by ``batch_size``)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Booking.objects.select_for_update(skip_locked=True)
            .filter(status=BookingStatus.PENDING_PAYMENT, hold_expires_at__lte=now)
            .order_by("hold_expires_at")[:batch_size]
        )
        for booking in due:
            booking.status = BookingStatus.EXPIRED
            booking.save(update_fields=["status", "updated_at"])
            _record(booking, from_status=BookingStatus.PENDING_PAYMENT, actor=None, reason="unpaid hold expired")
    for facility_id in {b.facility_id for b in due}:
        facility_cache_bump(facility_id)  # runs after commit (autocommit here: at once)
    return len(due)


# ---------------------------------------------------------------------------- check-in / check-out


class CheckInTooEarlyError(InvalidTransitionError):
    code = "check_in_too_early"


def booking_check_in(*, booking_id: uuid.UUID, actor: User | None, at: datetime | None = None) -> Booking:
    """``confirmed`` → ``checked_in`` from the facility's early check-in window on (the app path;
    gates call the same service). A ``no_show`` booking whose window has not ended is given back if
    its spot, or another compatible one of the facility, is free for the rest of the window (the
    window then starts now; the no-show settlement stands); else 409 ``spot_unavailable``."""
    at = at or timezone.now()
    try:
        with transaction.atomic():
            _set_lock_timeout()
            booking = _lock_booking(booking_id)
            if booking.status == BookingStatus.NO_SHOW:
                previous = _reinstate(booking, at)
            else:
                opens = booking.start - timedelta(minutes=booking.facility.early_checkin_minutes)
                if booking.status == BookingStatus.CONFIRMED and at < opens:
                    raise CheckInTooEarlyError(f"Check-in opens at {opens.isoformat()}.")
                previous = _transition(booking, BookingStatus.CHECKED_IN)
            booking.checked_in_at = at
            booking.save(update_fields=["status", "checked_in_at", "start", "spot", "zone", "updated_at"])
            _record(booking, from_status=previous, actor=actor)
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            raise SpotUnavailableError() from exc
        raise
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking


def _reinstate(booking: Booking, at: datetime) -> str:
    """A late arrival on a released booking (row locked): claim its spot or another compatible free
    one for ``[at, end)``. The spot lock is taken after the booking's here, so only ``SKIP LOCKED``
    (never a wait) is used on spots, which cannot deadlock with the spot → booking order elsewhere."""
    if at >= booking.end:
        raise InvalidTransitionError("The booking's window has ended.")
    requirements = SpotRequirements(vehicle_type=booking.vehicle_type)
    free = availability.spots_free(start=at, end=booking.end, requirements=requirements).filter(
        facility_id=booking.facility_id
    )
    candidates = sorted(free, key=lambda spot: (spot.pk != booking.spot_id, spot.zone_id != booking.zone_id, spot.pk))
    for candidate in candidates:
        locked = Spot.objects.select_for_update(skip_locked=True).filter(pk=candidate.pk).first()
        if (
            locked is not None
            and availability.spots_free(start=at, end=booking.end, requirements=requirements)
            .filter(pk=locked.pk)
            .exists()
        ):
            booking.spot, booking.zone_id, booking.start = locked, locked.zone_id, max(booking.start, at)
            return _transition(booking, BookingStatus.CHECKED_IN)
    raise SpotUnavailableError("The spot was released and no compatible spot is free now.")


def booking_mark_no_show(*, booking_id: uuid.UUID, at: datetime) -> Booking | None:
    """``confirmed`` reservation not checked in by start + the facility's arrival grace → ``no_show``:
    the spot is free again, the no-show fee (the facility's percentage of the discounted parking
    amount, half-up) is recorded for payments to settle, and the driver is emailed. Call inside a
    transaction that holds the booking's lock (the release job); ``None`` if it no longer applies."""
    booking = Booking.objects.select_related("facility").get(pk=booking_id)
    deadline = booking.start + timedelta(minutes=booking.facility.reservation_grace_minutes)
    if booking.status != BookingStatus.CONFIRMED or booking.kind != BookingKind.RESERVATION or at <= deadline:
        return None
    previous = _transition(booking, BookingStatus.NO_SHOW)
    booking.no_show_fee = percent_of(
        booking.parking_amount - booking.discount_amount, booking.facility.no_show_fee_percent
    )
    booking.save(update_fields=["status", "no_show_fee", "updated_at"])
    _record(booking, from_status=previous, actor=None, reason="not checked in by the end of the arrival grace")
    outbox_enqueue_once(kind=OutboxKind.NO_SHOW, booking=booking)
    booking_event_publish(BOOKING_NO_SHOW, booking, None)
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking


def _rule_price(booking: Booking, start: datetime, end: datetime) -> int:
    """The parking amount (minor units) the booking's rule charges for ``[start, end)``."""

    rule = rule_select(
        rules_for_facilities([booking.facility_id]),
        facility_id=booking.facility_id,
        zone_id=booking.zone_id,
        spot_id=booking.spot_id,
        vehicle_type=booking.vehicle_type,
        spot_category=booking.spot.category,
        at=start,
    )
    if rule is None:
        raise NoApplicableRuleError()
    try:
        priced = quote_stay(
            strategy=rule.strategy,
            config=rule.config,
            start=start,
            end=end,
            time_zone=booking.facility.timezone,
            context=PricingContext(vehicle_type=booking.vehicle_type, spot_category=booking.spot.category),
            rule_name=rule.name,
        )
    except PricingError as exc:
        raise from_engine(exc) from exc
    return priced.parking_amount


def early_exit_refund(*, booking: Booking, at: datetime) -> int:
    """Refund for leaving before the end (minor units), per the facility's early-exit policy.

    ``prorated``: the unused whole hours' share of the (discounted) parking amount, rounded half-up,
    minus ``early_exit_minimum_fee``, never below 0. ``none``: 0.
    """
    facility = booking.facility
    if facility.early_exit_refund != "prorated" or at >= booking.end:
        return 0
    booked_minutes = int((booking.end - booking.start).total_seconds() // 60)
    unused_hours = int((booking.end - max(at, booking.start)).total_seconds() // 3600)
    share = round_half_up((booking.parking_amount - booking.discount_amount) * unused_hours * 60, booked_minutes)
    return max(0, share - facility.early_exit_minimum_fee)


def overstay_charge(*, booking: Booking, at: datetime) -> int:
    """Extra parking (minor units) for staying past the end plus the overstay grace: per started hour
    at ``overstay_rate_per_hour`` when set, else priced by the booking's rule for ``[end, at)``."""
    facility = booking.facility
    if at <= booking.end + timedelta(minutes=facility.overstay_grace_minutes):
        return 0
    if facility.overstay_rate_per_hour:
        started_hours = -(-int((at - booking.end).total_seconds()) // 3600)
        return overstay_adjust(booking, started_hours * facility.overstay_rate_per_hour, at)
    return overstay_adjust(booking, _rule_price(booking, booking.end, at), at)


def booking_check_out(*, booking_id: uuid.UUID, actor: User | None, at: datetime | None = None) -> Booking:
    """``checked_in`` → ``completed``; records the early-exit refund or the overstay charge for the
    payments step to settle."""
    at = at or timezone.now()
    with transaction.atomic():
        _set_lock_timeout()
        booking = _lock_booking(booking_id)
        previous = _transition(booking, BookingStatus.COMPLETED)
        booking.checked_out_at = at
        booking.early_exit_refund_amount = early_exit_refund(booking=booking, at=at)
        booking.overstay_amount = overstay_charge(booking=booking, at=at)
        booking.save(
            update_fields=["status", "checked_out_at", "early_exit_refund_amount", "overstay_amount", "updated_at"]
        )
        _record(booking, from_status=previous, actor=actor)
        booking_event_publish(BOOKING_CHECKED_OUT, booking, actor)
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking


# ---------------------------------------------------------------------------- extension


@dataclass(frozen=True)
class ExtensionTerms:
    """The extra charge (minor units) for moving the end to ``new_end``."""

    new_end: datetime
    parking_amount: int
    service_fee: int
    transaction_fee: int
    total: int


def extension_quote(*, booking: Booking, new_end: datetime) -> ExtensionTerms:
    """Price difference of ending at ``new_end`` under the booking's rule, with the fee policy."""

    if booking.status not in ACTIVE_STATUSES:
        raise InvalidTransitionError(f"A {booking.status} booking cannot be extended.")
    if new_end <= booking.end:
        raise ApplicationError("The new end must be after the current end.", code="invalid_window", attr="end")
    window_validate(facility=booking.facility, start=max(booking.start, timezone.now()), end=new_end)
    difference = max(0, _rule_price(booking, booking.start, new_end) - _rule_price(booking, booking.start, booking.end))
    percent, fee = fee_policy_for(booking.organization_id)
    fees = fee_breakdown(parking_amount=difference, service_fee_percent=percent, transaction_fee=fee)
    return ExtensionTerms(
        new_end=new_end,
        parking_amount=difference,
        service_fee=fees.service_fee,
        transaction_fee=fees.transaction_fee,
        total=fees.total,
    )


def _next_taken(booking: Booking) -> datetime | None:
    nxt = (
        Booking.objects.filter(spot_id=booking.spot_id, status__in=ACTIVE_STATUSES, start__gte=booking.end)
        .exclude(pk=booking.pk)
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    return nxt


def booking_extend(*, booking_id: uuid.UUID, actor: User, new_end: datetime) -> tuple[Booking, ExtensionTerms]:
    """Move the end later on the same spot: spot lock, re-check ``[end, new_end)``, then write; the
    exclusion constraint backs it. A conflict is 409 naming when the spot is next taken."""
    booking = Booking.objects.select_related("facility", "spot").get(pk=booking_id)
    terms = extension_quote(booking=booking, new_end=new_end)  # outside the lock
    try:
        with transaction.atomic():
            _set_lock_timeout()
            Spot.objects.select_for_update().filter(pk=booking.spot_id).first()
            booking = _lock_booking(booking_id)
            free = (
                availability.spots_free(start=booking.end, end=new_end, requirements=SpotRequirements())
                .filter(pk=booking.spot_id)
                .exists()
            )
            if not free:
                taken = _next_taken(booking)
                when = f" It is next taken at {taken.isoformat()}." if taken else ""
                raise SpotUnavailableError(f"The spot is not free until the new end.{when}")
            booking.end = new_end
            booking.parking_amount += terms.parking_amount
            booking.service_fee += terms.service_fee
            booking.transaction_fee += terms.transaction_fee
            booking.total += terms.total
            booking.owner_payout += terms.parking_amount
            booking.platform_revenue += terms.service_fee + terms.transaction_fee
            booking.save(
                update_fields=[
                    "end",
                    "parking_amount",
                    "service_fee",
                    "transaction_fee",
                    "total",
                    "owner_payout",
                    "platform_revenue",
                    "updated_at",
                ]
            )
            _record(
                booking,
                from_status=booking.status,
                actor=actor,
                reason=f"extended to {new_end.isoformat()} (+{terms.total})",
            )
    except IntegrityError as exc:
        if _is_overlap_violation(exc):
            raise SpotUnavailableError() from exc
        raise
    transaction.on_commit(lambda: facility_cache_bump(booking.facility_id))
    return booking, terms
