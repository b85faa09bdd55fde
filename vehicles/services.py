"""Writes to vehicles: create, update, delete, keeping the one-default and one-plate-per-owner rules.

Locking (ARCHITECTURE §6): every write runs in one transaction that first locks the owner's row
(``FOR NO KEY UPDATE``) and then the owner's vehicle rows (``FOR UPDATE``, primary-key order). The
owner row is the mutex that also covers an owner with no vehicles yet, so two concurrent "first
vehicle" requests cannot both become the default; ``NO KEY`` keeps it from blocking inserts elsewhere
that merely reference the user. The database constraints ``vehicle_one_default_per_owner`` and
``vehicle_owner_plate_unique`` back the same rules up for any write that bypasses this module.

Default rule: the owner's first vehicle becomes the default whatever ``is_default`` says; setting
``is_default`` on another vehicle moves the flag; the default cannot be unset directly (make another
vehicle the default instead); deleting the default promotes the most recently *created* remaining
vehicle (``created_at`` then ``id``, descending) — the newest car is the likeliest one still in use.

Plates: validated and normalised before any lock is taken, stored encrypted, looked up by blind
index. Logs carry ids only, never a plate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple, TypedDict
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from app.exceptions import NotFoundError

from .countries import normalize_country
from .exceptions import DefaultVehicleConflictError, DefaultVehicleRequiredError, DuplicatePlateError
from .models import Vehicle
from .plates import normalize_plate, plate_blind_index
from .selectors import vehicle_plate_taken

logger = logging.getLogger(__name__)

_PLAIN_FIELDS = ("vehicle_type", "is_ev", "make", "model", "color", "nickname")


class VehicleUpdateData(TypedDict, total=False):
    """A partial update: only the keys present are changed."""

    plate: str
    country: str | None
    vehicle_type: str
    is_ev: bool
    make: str
    model: str
    color: str
    nickname: str
    is_default: bool


class _LockedVehicle(NamedTuple):
    id: UUID
    is_default: bool
    created_at: datetime


def _lock_owner_vehicles(owner: User) -> list[_LockedVehicle]:
    """Lock the owner row, then the owner's vehicles; return those vehicles (without plates).

    Precondition: inside ``transaction.atomic()``. Lock timeouts surface as ``OperationalError``
    (55P03), which the API renders as 409 ``resource_busy``.
    """
    list(User.objects.select_for_update(no_key=True).filter(pk=owner.pk).values_list("pk", flat=True))
    rows = (
        Vehicle.objects.select_for_update()
        .filter(owner=owner)
        .order_by("pk")
        .values_list("id", "is_default", "created_at")
    )
    return [_LockedVehicle(*row) for row in rows]


def _clear_default(owner: User) -> None:
    """Precondition: the owner's vehicles are locked (``_lock_owner_vehicles``)."""
    Vehicle.objects.filter(owner=owner, is_default=True).update(is_default=False, updated_at=timezone.now())


def _save_vehicle(vehicle: Vehicle, **save_kwargs: Any) -> None:
    """Save inside a savepoint, turning constraint races into the domain errors the service would raise."""
    try:
        with transaction.atomic():
            vehicle.save(**save_kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        # ``from None``: PostgreSQL's DETAIL repeats the key (the blind index); keep it out of reports.
        if constraint == "vehicle_owner_plate_unique":
            raise DuplicatePlateError() from None
        if constraint == "vehicle_one_default_per_owner":
            raise DefaultVehicleConflictError() from None
        raise


@sensitive_variables()
def vehicle_create(
    *,
    owner: User,
    plate: str,
    vehicle_type: str,
    country: str | None = None,
    is_ev: bool = False,
    make: str = "",
    model: str = "",
    color: str = "",
    nickname: str = "",
    is_default: bool = False,
) -> Vehicle:
    """Add a vehicle for ``owner``; it becomes the default if ``is_default`` or if the owner has none.

    Raises ``InvalidPlateError`` / ``DuplicatePlateError`` (400 on ``plate``), ``InvalidCountryError``
    (400 on ``country``) or Django's ``ValidationError`` (other fields); nothing is written then.
    """
    normalized = normalize_plate(plate)
    vehicle = Vehicle(
        owner=owner,
        plate=normalized,
        plate_index=plate_blind_index(normalized),
        country=normalize_country(country),
        vehicle_type=vehicle_type,
        is_ev=is_ev,
        make=make,
        model=model,
        color=color,
        nickname=nickname,
    )
    vehicle.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)

    with transaction.atomic():
        siblings = _lock_owner_vehicles(owner)
        if vehicle_plate_taken(owner=owner, plate_index=vehicle.plate_index):
            raise DuplicatePlateError()
        has_default = any(sibling.is_default for sibling in siblings)
        vehicle.is_default = is_default or not has_default
        if vehicle.is_default and has_default:
            _clear_default(owner)
        _save_vehicle(vehicle, force_insert=True)

    logger.info("vehicle_created vehicle_id=%s owner_id=%s is_default=%s", vehicle.pk, owner.pk, vehicle.is_default)
    return vehicle


@sensitive_variables()
def vehicle_update(*, owner: User, vehicle_id: UUID, data: VehicleUpdateData) -> Vehicle:
    """Change the keys present in ``data`` on the owner's vehicle ``vehicle_id``.

    ``is_default=True`` makes it the default (the previous one is unset); ``is_default=False`` on the
    default raises ``DefaultVehicleRequiredError``. Another owner's vehicle is ``NotFoundError``.
    On any error nothing is written.
    """
    given: Mapping[str, object] = data
    changes: dict[str, Any] = {field: given[field] for field in _PLAIN_FIELDS if field in given}
    if "plate" in data:
        normalized = normalize_plate(data["plate"])
        changes["plate"] = normalized
        changes["plate_index"] = plate_blind_index(normalized)
    if "country" in data:
        changes["country"] = normalize_country(data["country"])
    wants_default = data.get("is_default")

    with transaction.atomic():
        siblings = _lock_owner_vehicles(owner)
        target = next((sibling for sibling in siblings if sibling.id == vehicle_id), None)
        if target is None:
            raise NotFoundError("Vehicle not found.")
        vehicle = Vehicle.objects.get(pk=vehicle_id)
        if wants_default is False and target.is_default:
            raise DefaultVehicleRequiredError()
        if "plate_index" in changes and changes["plate_index"] == vehicle.plate_index:
            del changes["plate"], changes["plate_index"]  # same plate, however spelled: nothing to re-encrypt
        changed = [field for field, value in changes.items() if getattr(vehicle, field) != value]
        for field in changed:
            setattr(vehicle, field, changes[field])
        if changed:
            vehicle.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
        if "plate_index" in changed and vehicle_plate_taken(
            owner=owner, plate_index=vehicle.plate_index, exclude_id=vehicle.pk
        ):
            raise DuplicatePlateError()
        if wants_default and not target.is_default:
            _clear_default(owner)
            vehicle.is_default = True
            changed.append("is_default")
        if changed:
            _save_vehicle(vehicle, update_fields=[*changed, "updated_at"])

    if changed:
        logger.info("vehicle_updated vehicle_id=%s owner_id=%s fields=%s", vehicle.pk, owner.pk, ",".join(changed))
    return vehicle


def vehicle_delete(*, owner: User, vehicle_id: UUID) -> Vehicle | None:
    """Delete the owner's vehicle ``vehicle_id`` (``NotFoundError`` if not the owner's).

    If it was the default, the most recently created remaining vehicle becomes the default and is
    returned; otherwise (or when none is left) returns ``None``.
    """
    with transaction.atomic():
        siblings = _lock_owner_vehicles(owner)
        target = next((sibling for sibling in siblings if sibling.id == vehicle_id), None)
        if target is None:
            raise NotFoundError("Vehicle not found.")
        Vehicle.objects.filter(pk=vehicle_id).delete()
        remaining = [sibling for sibling in siblings if sibling.id != vehicle_id]
        promoted: Vehicle | None = None
        if target.is_default and remaining:
            newest = max(remaining, key=lambda sibling: (sibling.created_at, sibling.id))
            Vehicle.objects.filter(pk=newest.id).update(is_default=True, updated_at=timezone.now())
            promoted = Vehicle.objects.get(pk=newest.id)

    logger.info(
        "vehicle_deleted vehicle_id=%s owner_id=%s promoted_vehicle_id=%s",
        vehicle_id,
        owner.pk,
        promoted.pk if promoted is not None else "-",
    )
    return promoted
