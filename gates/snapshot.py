"""The offline snapshot: everything a gate needs to decide for the next 24 h at its facility, signed.

``data`` holds the facility's active bookings (confirmed / checked in, overlapping the next 24 h) with
their entry windows and plate blind indexes, the active passes with the plate indexes of their
vehicles, and the credential public keys. With ``since`` (a previous ``version``) only bookings
changed since then come, plus ``removed`` references (cancelled, expired, completed, moved out of the
horizon); passes are always sent whole (they are few). ``version`` is the generation time in
microseconds; changes are looked up with a 10-second overlap so a transaction that committed late
is not missed (re-sending an unchanged booking is harmless: the agent upserts).

The signature is Ed25519 over the canonical JSON of ``data`` (sorted keys, no spaces, UTF-8) with the
platform's credential signing key (``kid``); the agent verifies it with the keys it pinned from
``/api/v1/bookings/credential-keys/`` and refuses a snapshot older than ``valid_until``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from bookings.credentials import b64url_encode, public_jwks, signing_keys_from_settings
from bookings.models import Booking, BookingStatus
from pricing.models import Pass, PassStatus
from vehicles.models import Vehicle

from .models import Gate

HORIZON = timedelta(hours=24)
OVERLAP = timedelta(seconds=10)


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _booking_row(booking: Booking, early: timedelta) -> dict[str, Any]:
    return {
        "reference": booking.reference,
        "kind": booking.kind,
        "status": booking.status,
        "plate_index": booking.plate_index,
        "entry_from": _iso(booking.start - early),
        "start": _iso(booking.start),
        "end": _iso(booking.end),
        "spot": booking.spot.code,
        "zone": booking.zone.name,
    }


def _passes(gate: Gate, now: datetime) -> list[dict[str, Any]]:
    passes = list(
        Pass.objects.filter(
            product__facility_id=gate.facility_id,
            product__is_active=True,
            status=PassStatus.ACTIVE,
            valid_until__gt=now,
            valid_from__lt=now + HORIZON,
        ).select_related("product")
    )
    driver_ids = {p.driver_id for p in passes if p.vehicle_id is None}
    by_driver: dict[Any, list[str]] = {}
    for owner_id, index in Vehicle.objects.filter(owner_id__in=driver_ids).values_list("owner_id", "plate_index"):
        by_driver.setdefault(owner_id, []).append(index)
    vehicle_index = dict(
        Vehicle.objects.filter(pk__in=[p.vehicle_id for p in passes if p.vehicle_id]).values_list("pk", "plate_index")
    )
    return [
        {
            "id": p.pk,
            "plate_indexes": sorted([vehicle_index[p.vehicle_id]] if p.vehicle_id else by_driver.get(p.driver_id, [])),
            "valid_from": _iso(p.valid_from),
            "valid_until": _iso(p.valid_until),
            "weekdays": sorted(p.product.valid_weekdays),
            "start_time": p.product.valid_start_time.isoformat() if p.product.valid_start_time else None,
            "end_time": p.product.valid_end_time.isoformat() if p.product.valid_end_time else None,
        }
        for p in passes
    ]


def snapshot_build(*, gate: Gate, since: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    facility = gate.facility
    early = timedelta(minutes=facility.early_checkin_minutes)
    # A parked car stays in the snapshot until it leaves, also past its end (an overstay must get out).
    in_horizon = Q(status=BookingStatus.CHECKED_IN) | Q(
        status=BookingStatus.CONFIRMED, end__gt=now, start__lt=now + HORIZON + early
    )
    bookings = Booking.objects.filter(facility_id=facility.pk).select_related("spot", "zone")
    removed: list[str] = []
    if since is None:
        rows = [_booking_row(b, early) for b in bookings.filter(in_horizon).order_by("start", "reference")]
    else:
        changed_since = datetime.fromtimestamp(since / 1_000_000, UTC) - OVERLAP
        # Changed rows, and unchanged ones that entered the 24-hour window as time passed.
        entered = Q(status=BookingStatus.CONFIRMED, start__gte=changed_since + HORIZON + early)
        changed = list(
            bookings.filter(Q(updated_at__gte=changed_since) | (entered & in_horizon)).order_by("start", "reference")
        )
        keep = {b.pk for b in bookings.filter(in_horizon, pk__in=[b.pk for b in changed])}
        rows = [_booking_row(b, early) for b in changed if b.pk in keep]
        removed = sorted(b.reference for b in changed if b.pk not in keep)
    keys = list(signing_keys_from_settings())
    data = {
        "facility": facility.pk,
        "timezone": facility.timezone,
        "gate": gate.pk,
        "anti_passback": gate.anti_passback,
        "version": int(now.timestamp() * 1_000_000),
        "since": since,
        "full": since is None,
        "generated_at": _iso(now),
        "valid_until": _iso(now + HORIZON),
        "bookings": rows,
        "removed": removed,
        "passes": _passes(gate, now),
        "credential_keys": public_jwks(keys),
    }
    signer = keys[0]
    return {"data": data, "kid": signer.kid, "signature": b64url_encode(signer.private_key.sign(canonical(data)))}
