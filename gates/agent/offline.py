"""Offline decisions: the rules of ``gates.services`` applied to the held snapshot.

Same order and reason codes as the server (docs/gates.md):

1. no snapshot, or the snapshot is past its ``valid_until`` → deny ``snapshot_stale`` (the agent
   alarms); a gate never opens on information older than 24 h;
2. the gate's direction and accepted credential types (from the last poll) → ``wrong_direction``,
   ``credential_not_accepted``;
3. the booking the credential names:
   - QR: ``bookings.credentials.credential_verify`` with the public keys of the held snapshot, the
     server's leeway (120 s at entry, 7 days at exit): ``not_yet_valid`` → ``too_early``, ``expired``
     → ``outside_window``, any other failure → ``invalid_credential``; another facility →
     ``wrong_facility``;
   - reference / ticket: looked up (trimmed, upper case) among the snapshot's bookings;
   - not in the snapshot → ``unknown_credential``. The snapshot holds only active bookings
     (confirmed, checked in), so offline a cancelled, expired, completed or no-show booking and a
     booking of another facility are all "not found": the platform knows the precise reason, the
     gate does not, and it denies either way;
4. entry: the booking's state (below) checked in → ``already_inside`` with anti-passback, else
   ``re_entry`` (open); left already → ``booking_completed``; otherwise ``too_early`` before
   ``entry_from``, ``outside_window`` from ``end`` on, else ``ok`` (open; the booking is now inside);
5. exit: inside → ``ok`` (open; now left), left already → ``already_checked_out`` (open; by plate
   only within ``RECENT_EXIT`` of the check-out, as on the server), not
   entered → ``not_inside``. A booking that dropped out of the snapshot (its end passed, the car
   overstayed) but that this gate let in still gets out: ``ok``. Fees are the platform's business
   when the event is uploaded (it charges or flags the exit).

The booking's state is the further along of the snapshot's status and what this gate itself saw
(``presence``): ``confirmed`` < ``checked_in`` / ``inside`` < ``left``. A booking's status only moves
forward (confirmed → checked in → completed), so the merge needs no clocks and a snapshot refreshed
before the outbox was uploaded cannot undo a local entry.

Plates: the blind index is an HMAC with the platform's secret key, so the agent cannot compute it.
Offline a plate is matched only when the reading device supplies ``plate_index`` (a camera provisioned
with the index key). Without it — or below the gate's confidence threshold — the read is denied
``manual_review`` (staff at the intercom decide); the event is still uploaded with the plate, so the
platform records it. With an index: bookings (entry window, confirmed before checked in, earliest
start first), then passes (validity, weekdays and hours in the facility's time zone), then
``no_booking`` — or ``manual_review`` when the gate allows drive-in (offline nobody can allocate a
spot). Pass vehicle-type limits are not in the snapshot and are not checked offline.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bookings.credentials import CredentialError, credential_verify, public_keys_from_jwks

from .reading import DENY, ENTRY, OPEN, PLATE, SNAPSHOT_STALE, Reading, Verdict, deny
from .state import INSIDE, LEFT, BookingRow, GateConfig, PassRow, Presence, SnapshotMeta

#: gates.services.QR_LEEWAY_SECONDS and EXIT_QR_LEEWAY_SECONDS (a test keeps them equal).
QR_LEEWAY_SECONDS: Final = 120
EXIT_QR_LEEWAY_SECONDS: Final = 7 * 24 * 3600
#: gates.services.RECENT_EXIT: a plate read at an exit this soon after its check-out is the same stay.
RECENT_EXIT: Final = timedelta(hours=2)

ENTRY_DIRECTIONS: Final = ("entry", "both")
EXIT_DIRECTIONS: Final = ("exit", "both")

CONFIRMED: Final = "confirmed"
CHECKED_IN: Final = "checked_in"
_STATUS_REASONS: Final = {
    "cancelled": "booking_cancelled",
    "expired": "booking_expired",
    "no_show": "no_show",
    "completed": "booking_completed",
    "pending_payment": "payment_required",
}
# How far along a booking is: its snapshot status and this gate's own presence record, merged by max.
_RANK: Final = {CONFIRMED: 0, CHECKED_IN: 1, INSIDE: 1, LEFT: 2}


class OfflineView(Protocol):
    """What the offline rules read (``state.State`` implements it)."""

    def snapshot(self) -> SnapshotMeta | None: ...
    def config(self) -> GateConfig: ...
    def booking(self, reference: str) -> BookingRow | None: ...
    def bookings_by_plate(self, plate_index: str) -> list[BookingRow]: ...
    def passes(self) -> list[PassRow]: ...
    def presence(self, reference: str) -> Presence | None: ...


def _rank(booking: BookingRow, presence: Presence | None) -> int:
    local = _RANK[presence.state] if presence is not None else 0
    return max(_RANK.get(booking.status, 0), local)


def decide_offline(view: OfflineView, *, kind: str, reading: Reading, at: datetime) -> Verdict:
    """The offline decision for one read at ``at`` (the gate's clock, aware)."""
    snapshot = view.snapshot()
    if snapshot is None or at >= snapshot.valid_until:
        return deny(SNAPSHOT_STALE)
    config = view.config()
    if config.direction not in (ENTRY_DIRECTIONS if kind == ENTRY else EXIT_DIRECTIONS):
        return deny("wrong_direction")
    if reading.type not in config.accepted_credentials:
        return deny("credential_not_accepted")
    anti_passback = snapshot.anti_passback if config.anti_passback is None else config.anti_passback
    if reading.type == PLATE:
        return _by_plate(view, snapshot, config, kind, reading, at, anti_passback)
    if reading.qr_code:
        leeway = QR_LEEWAY_SECONDS if kind == ENTRY else EXIT_QR_LEEWAY_SECONDS
        try:
            keys = public_keys_from_jwks(snapshot.credential_keys)
            claims = credential_verify(reading.qr_code, keys, at, leeway_seconds=leeway)
        except CredentialError as exc:
            return deny({"not_yet_valid": "too_early", "expired": "outside_window"}.get(exc.code, "invalid_credential"))
        except ValueError:  # an unusable key set in the snapshot (cannot happen with a verified one)
            return deny("invalid_credential")
        if claims["fac"] != snapshot.facility:
            return deny("wrong_facility")
        reference = claims["ref"]
    else:
        reference = reading.reference
    booking = view.booking(reference)
    presence = view.presence(reference)
    if booking is None:
        if kind != ENTRY and presence is not None:
            # Let in by this gate, then gone from the snapshot (its end passed): it still gets out.
            return _release(reference, _RANK[presence.state])
        return deny("unknown_credential", reference)
    if kind == ENTRY:
        return _admit(booking, presence, at, anti_passback)
    return _release(reference, _rank(booking, presence))


def _admit(booking: BookingRow, presence: Presence | None, at: datetime, anti_passback: bool) -> Verdict:
    reference = booking.reference
    if booking.status in _STATUS_REASONS:
        return deny(_STATUS_REASONS[booking.status], reference)
    rank = _rank(booking, presence)
    if rank >= _RANK[LEFT]:
        return deny("booking_completed", reference)
    if rank == _RANK[INSIDE]:
        if anti_passback:
            return deny("already_inside", reference)
        return Verdict(OPEN, "re_entry", reference, INSIDE)
    if at < booking.entry_from:
        return deny("too_early", reference)
    if at >= booking.end:
        return deny("outside_window", reference)
    return Verdict(OPEN, "ok", reference, INSIDE)


def _release(reference: str, rank: int) -> Verdict:
    if rank == _RANK[INSIDE]:
        return Verdict(OPEN, "ok", reference, LEFT)
    if rank >= _RANK[LEFT]:
        return Verdict(OPEN, "already_checked_out", reference, LEFT)
    return deny("not_inside", reference)


def _by_plate(
    view: OfflineView,
    snapshot: SnapshotMeta,
    config: GateConfig,
    kind: str,
    reading: Reading,
    at: datetime,
    anti_passback: bool,
) -> Verdict:
    if reading.confidence is None or reading.confidence < config.plate_confidence_threshold:
        return deny("manual_review")
    if not reading.plate_index:
        return deny("manual_review")  # offline plate matching needs the camera's blind index
    candidates = [(b, view.presence(b.reference)) for b in view.bookings_by_plate(reading.plate_index)]
    if kind == ENTRY:
        # As on the server: active bookings in their entry window (one that left here is completed).
        in_window = [
            (b, p)
            for b, p in candidates
            if b.entry_from <= at < b.end and b.status in (CONFIRMED, CHECKED_IN) and _rank(b, p) < _RANK[LEFT]
        ]
        chosen = next(((b, p) for b, p in in_window if _rank(b, p) == 0), None) or next(iter(in_window), None)
        if chosen is not None:
            return _admit(chosen[0], chosen[1], at, anti_passback)
        if _pass_covers(view.passes(), reading.plate_index, at, snapshot.timezone):
            return Verdict(OPEN, "pass_valid")
        return deny("manual_review" if config.allow_drive_in else "no_booking")
    inside = [(b, p) for b, p in candidates if _rank(b, p) == _RANK[INSIDE]]
    # The most recent entry first (the server orders by checked_in_at, which the snapshot lacks).
    inside.sort(key=lambda bp: bp[1].occurred_at if bp[1] else bp[0].start, reverse=True)
    if inside:
        return _release(inside[0][0].reference, _RANK[INSIDE])
    # Checked out here moments ago and back at the barrier: the same stay (gates.services.RECENT_EXIT).
    recent = [p for _, p in candidates if p is not None and p.state == LEFT and p.occurred_at >= at - RECENT_EXIT]
    if recent:
        return _release(max(recent, key=lambda p: p.occurred_at).reference, _RANK[LEFT])
    if _pass_covers(view.passes(), reading.plate_index, at, snapshot.timezone):
        return Verdict(OPEN, "pass_valid")
    return deny("not_inside")


def _pass_covers(passes: list[PassRow], plate_index: str, at: datetime, time_zone: str) -> bool:
    """Mirrors ``pricing.selectors.pass_coverage`` for ``[at, at + 1 min)`` (as the server asks)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    until = at + timedelta(minutes=1)
    for item in passes:
        if plate_index not in item.plate_indexes:
            continue
        lo, hi = max(at, item.valid_from), min(until, item.valid_until)
        if lo >= hi:
            continue
        if not item.weekdays and item.start_time is None and item.end_time is None:
            return True
        day: date = lo.astimezone(zone).date() - timedelta(days=1)
        while day <= hi.astimezone(zone).date():
            if not item.weekdays or day.weekday() in item.weekdays:
                day_start = datetime.combine(day, item.start_time or datetime.min.time(), tzinfo=zone)
                if item.end_time is None:
                    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
                else:
                    day_end = datetime.combine(day, item.end_time, tzinfo=zone)
                if max(lo, day_start) < min(hi, day_end):
                    return True
            day += timedelta(days=1)
    return False


__all__ = ["DENY", "OPEN", "OfflineView", "decide_offline"]
