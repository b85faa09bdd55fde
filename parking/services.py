"""Writes for inventory: facilities, zones, spots, blocks, photos. Role checks happen in the views
(through the managed selectors); these services keep the data consistent and bump the per-facility
cache version after commit so public reads are never stale."""

import re
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Organization, User
from app.events import event_publish
from app.exceptions import ApplicationError

from . import availability
from .cache import facility_cache_bump
from .exceptions import DuplicateSpotCodeError, HasFutureBookingsError
from .models import Facility, FacilityPhoto, Spot, SpotBlock, SpotStatus, Zone
from .photos import photo_delete

FACILITY_FIELDS = frozenset(
    f.name
    for f in Facility._meta.get_fields()
    if getattr(f, "editable", False) and f.name not in {"id", "organization", "created_at", "updated_at"}
)
ZONE_FIELDS = frozenset({"name", "level", "kind", "display_order"})
SPOT_FIELDS = frozenset(
    {
        "code",
        "size",
        "category",
        "has_ev_charger",
        "ev_charger_status",
        "is_accessible",
        "is_covered",
        "status",
        "grid_row",
        "grid_column",
    }
)
MAX_BULK_SPOTS = 500
# How far ahead "future active bookings" are looked for when deleting inventory.
FAR_FUTURE = timedelta(days=366 * 5)


def _unique_facility_slug(organization: Organization, name: str) -> str:
    base = slugify(name)[:70] or "facility"
    slug, suffix = base, 2
    while Facility.objects.filter(organization=organization, slug=slug).exists():
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


def _full_clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    # validate_constraints=False: the constraints are enforced by the database at save time, and
    # some (unique per parent) are checked explicitly before with a clearer error.
    instance.full_clean(exclude=exclude, validate_constraints=False)


def _validate_codes(fields: dict[str, Any]) -> None:
    """ISO codes are checked here too (the database constraint would otherwise surface as a 500)."""
    if "currency" in fields and not re.fullmatch(r"[A-Z]{3}", str(fields["currency"])):
        raise ApplicationError("Give a 3-letter ISO 4217 currency code.", code="invalid_currency", attr="currency")
    if "country" in fields and not re.fullmatch(r"[A-Z]{2}", str(fields["country"])):
        raise ApplicationError("Give a 2-letter ISO 3166-1 country code.", code="invalid_country", attr="country")


@transaction.atomic
def facility_create(*, organization: Organization, data: dict[str, Any]) -> Facility:
    """Create a facility; currency defaults to the organization's."""
    fields = {key: value for key, value in data.items() if key in FACILITY_FIELDS}
    fields.setdefault("currency", organization.currency)
    fields["currency"] = str(fields["currency"]).upper()
    fields["country"] = str(fields.get("country", organization.country)).upper()
    _validate_codes(fields)
    if not fields.get("slug"):
        fields["slug"] = _unique_facility_slug(organization, str(fields.get("name", "")))
    elif Facility.objects.filter(organization=organization, slug=fields["slug"]).exists():
        raise ApplicationError("This slug is already used in your organization.", code="slug_taken", attr="slug")
    facility = Facility(organization=organization, **fields)
    _full_clean(facility)
    facility.save()
    return facility


@transaction.atomic
def facility_update(*, facility: Facility, data: dict[str, Any]) -> Facility:
    changes = {key: value for key, value in data.items() if key in FACILITY_FIELDS}
    if (
        "slug" in changes
        and Facility.objects.filter(organization_id=facility.organization_id, slug=changes["slug"])
        .exclude(pk=facility.pk)
        .exists()
    ):
        raise ApplicationError("This slug is already used in your organization.", code="slug_taken", attr="slug")
    changes = {key: value.upper() if key in ("currency", "country") else value for key, value in changes.items()}
    _validate_codes(changes)
    for key, value in changes.items():
        setattr(facility, key, value)
    if changes:
        _full_clean(facility)
        facility.save()
        facility_cache_bump(facility.pk)
    return facility


def _future_use(spot_ids: list[int]) -> list[dict[str, Any]]:
    now = timezone.now()
    return availability.spot_use_overlapping(spot_ids=spot_ids, start=now, end=now + FAR_FUTURE)


@transaction.atomic
def facility_delete(*, facility: Facility) -> None:
    """Delete a facility with everything in it, unless any spot has current or future bookings."""
    spot_ids = list(Spot.objects.filter(facility=facility).values_list("pk", flat=True))
    if _future_use(spot_ids):
        raise HasFutureBookingsError("The facility has current or future bookings; unpublish it instead.")
    for photo in FacilityPhoto.objects.filter(facility=facility):
        photo_delete(photo=photo)  # removes the stored file after commit too
    SpotBlock.objects.filter(facility=facility).delete()
    Spot.objects.filter(facility=facility).delete()
    Zone.objects.filter(facility=facility).delete()
    facility_id = facility.pk
    facility.delete()
    facility_cache_bump(facility_id)


@transaction.atomic
def zone_create(*, facility: Facility, data: dict[str, Any]) -> Zone:
    fields = {key: value for key, value in data.items() if key in ZONE_FIELDS}
    if Zone.objects.filter(facility=facility, name=fields.get("name")).exists():
        raise ApplicationError("This facility already has a zone with this name.", code="duplicate_zone", attr="name")
    zone = Zone(facility=facility, organization_id=facility.organization_id, **fields)
    _full_clean(zone)
    zone.save()
    facility_cache_bump(facility.pk)
    return zone


@transaction.atomic
def zone_update(*, zone: Zone, data: dict[str, Any]) -> Zone:
    changes = {key: value for key, value in data.items() if key in ZONE_FIELDS}
    if (
        "name" in changes
        and Zone.objects.filter(facility_id=zone.facility_id, name=changes["name"]).exclude(pk=zone.pk).exists()
    ):
        raise ApplicationError("This facility already has a zone with this name.", code="duplicate_zone", attr="name")
    for key, value in changes.items():
        setattr(zone, key, value)
    if changes:
        _full_clean(zone)
        zone.save()
        facility_cache_bump(zone.facility_id)
    return zone


@transaction.atomic
def zone_delete(*, zone: Zone) -> None:
    """Delete a zone and its spots, unless a spot has current or future bookings (nothing is deleted then)."""
    spot_ids = list(Spot.objects.filter(zone=zone).values_list("pk", flat=True))
    if _future_use(spot_ids):
        raise HasFutureBookingsError(
            "A spot of this zone has current or future bookings; deactivate the spots instead."
        )
    SpotBlock.objects.filter(zone=zone).delete()
    Spot.objects.filter(zone=zone).delete()
    facility_id = zone.facility_id
    zone.delete()
    facility_cache_bump(facility_id)


def _check_spot(spot: Spot) -> None:
    if not spot.has_ev_charger:
        spot.ev_charger_status = ""
    elif not spot.ev_charger_status:
        spot.ev_charger_status = "available"
    _full_clean(spot)


@transaction.atomic
def spot_create(*, zone: Zone, data: dict[str, Any]) -> Spot:
    fields = {key: value for key, value in data.items() if key in SPOT_FIELDS}
    code = str(fields.get("code", "")).strip()
    fields["code"] = code
    if Spot.objects.filter(facility_id=zone.facility_id, code=code).exists():
        raise DuplicateSpotCodeError(f"Spot code {code!r} is already used in this facility.", attr="code")
    spot = Spot(zone=zone, facility_id=zone.facility_id, organization_id=zone.organization_id, **fields)
    _check_spot(spot)
    try:
        with transaction.atomic():
            spot.save()
    except IntegrityError as exc:
        raise DuplicateSpotCodeError(f"Spot code {code!r} is already used in this facility.", attr="code") from exc
    facility_cache_bump(zone.facility_id)
    return spot


@transaction.atomic
def spot_bulk_create(
    *, zone: Zone, prefix: str, first_number: int, last_number: int, width: int = 0, data: dict[str, Any]
) -> list[Spot]:
    """Create spots ``{prefix}{n}`` for n in [first, last] (zero-padded to ``width``) in one transaction.

    All or nothing: one invalid or duplicate code and nothing is created.
    """
    if last_number < first_number:
        raise ApplicationError("last_number must not be below first_number.", code="invalid", attr="last_number")
    if last_number - first_number + 1 > MAX_BULK_SPOTS:
        raise ApplicationError(f"At most {MAX_BULK_SPOTS} spots per call.", code="too_many", attr="last_number")
    codes = [f"{prefix}{str(n).zfill(width)}" for n in range(first_number, last_number + 1)]
    taken = set(Spot.objects.filter(facility_id=zone.facility_id, code__in=codes).values_list("code", flat=True))
    if taken:
        raise DuplicateSpotCodeError(
            f"These codes already exist in this facility: {', '.join(sorted(taken)[:10])}.", attr="prefix"
        )
    fields = {key: value for key, value in data.items() if key in SPOT_FIELDS - {"code"}}
    spots = []
    for code in codes:
        spot = Spot(zone=zone, facility_id=zone.facility_id, organization_id=zone.organization_id, code=code, **fields)
        try:
            _check_spot(spot)
        except ValidationError as exc:
            raise ValidationError(
                {"prefix" if "code" in exc.message_dict else key: value for key, value in exc.message_dict.items()}
            ) from exc
        spots.append(spot)
    try:
        with transaction.atomic():
            created = Spot.objects.bulk_create(spots)
    except IntegrityError as exc:
        raise DuplicateSpotCodeError("A code was taken concurrently; nothing was created.", attr="prefix") from exc
    facility_cache_bump(zone.facility_id)
    return created


@transaction.atomic
def spot_update(*, spot: Spot, data: dict[str, Any]) -> Spot:
    changes = {key: value for key, value in data.items() if key in SPOT_FIELDS}
    if (
        "code" in changes
        and Spot.objects.filter(facility_id=spot.facility_id, code=changes["code"]).exclude(pk=spot.pk).exists()
    ):
        raise DuplicateSpotCodeError(f"Spot code {changes['code']!r} is already used in this facility.", attr="code")
    if "zone" in data and data["zone"].pk != spot.zone_id:
        if data["zone"].facility_id != spot.facility_id:
            raise ApplicationError("A spot can only move to a zone of the same facility.", code="invalid", attr="zone")
        spot.zone = data["zone"]
        changes["zone"] = data["zone"]
    for key, value in changes.items():
        setattr(spot, key, value)
    if changes:
        _check_spot(spot)
        spot.save()
        facility_cache_bump(spot.facility_id)
        if "status" in changes:
            _spot_changed(spot)
    return spot


def _spot_changed(spot: Spot) -> None:
    event_publish(
        "spot.availability",
        {"facility": spot.facility_id, "spot": spot.pk, "status": spot.status},
        organization_id=spot.organization_id,
    )


@transaction.atomic
def spot_bulk_set_status(*, spots: list[Spot], status: str) -> int:
    """Set ``status`` (e.g. maintenance on/off) on the given spots; returns how many changed."""
    if status not in SpotStatus.values:
        raise ApplicationError(f"Unknown status {status!r}.", code="invalid_choice", attr="status")
    ids = sorted(spot.pk for spot in spots)
    changing = list(Spot.objects.filter(pk__in=ids).exclude(status=status))
    changed = Spot.objects.filter(pk__in=[spot.pk for spot in changing]).update(
        status=status, updated_at=timezone.now()
    )
    for spot in changing:
        spot.status = status
        _spot_changed(spot)
    for facility_id in {spot.facility_id for spot in spots}:
        facility_cache_bump(facility_id)
    return changed


@transaction.atomic
def spot_delete(*, spot: Spot) -> None:
    """Delete a spot unless it has current or future bookings (then set it inactive instead)."""
    if _future_use([spot.pk]):
        raise HasFutureBookingsError()
    facility_id = spot.facility_id
    spot.delete()
    facility_cache_bump(facility_id)


def _block_scope(*, facility: Facility, zone: Zone | None, spot: Spot | None) -> tuple[Zone | None, Spot | None]:
    if spot is not None and spot.facility_id != facility.pk:
        raise ApplicationError("The spot is not in this facility.", code="invalid", attr="spot")
    if zone is not None and zone.facility_id != facility.pk:
        raise ApplicationError("The zone is not in this facility.", code="invalid", attr="zone")
    if spot is not None and zone is not None and spot.zone_id != zone.pk:
        raise ApplicationError("The spot is not in this zone.", code="invalid", attr="spot")
    return (spot.zone if spot is not None else zone), spot


@transaction.atomic
def block_create(
    *,
    actor: User,
    facility: Facility,
    start: datetime,
    end: datetime,
    reason: str,
    note: str = "",
    zone: Zone | None = None,
    spot: Spot | None = None,
) -> SpotBlock:
    """Block a spot, a zone or the whole facility for ``[start, end)``. Existing bookings stay valid."""
    if start >= end:
        raise ApplicationError("The end must be after the start.", code="invalid_window", attr="end")
    zone, spot = _block_scope(facility=facility, zone=zone, spot=spot)
    block = SpotBlock(
        organization_id=facility.organization_id,
        facility=facility,
        zone=zone,
        spot=spot,
        start=start,
        end=end,
        reason=reason,
        note=note,
        created_by=actor,
    )
    _full_clean(block)
    block.save()
    facility_cache_bump(facility.pk)
    return block


@transaction.atomic
def block_update(*, block: SpotBlock, data: dict[str, Any]) -> SpotBlock:
    for key in ("start", "end", "reason", "note"):
        if key in data:
            setattr(block, key, data[key])
    if block.start >= block.end:
        raise ApplicationError("The end must be after the start.", code="invalid_window", attr="end")
    _full_clean(block)
    block.save()
    facility_cache_bump(block.facility_id)
    return block


@transaction.atomic
def block_delete(*, block: SpotBlock) -> None:
    facility_id = block.facility_id
    block.delete()
    facility_cache_bump(facility_id)
