"""Facility photos: reads and writes (a sub-module of the parking services/selectors).

Files go through the ``FileField``'s storage, i.e. Django's default storage (``STORAGES["default"]``),
so an S3-compatible backend is a settings change (README §Settings). The image type is decided from
the file's first bytes, never from the client's content type or file name, and the stored name is
random with the detected extension. Validation happens before anything is written: a refused upload
leaves no row and no file.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import Max, QuerySet

from app.exceptions import ApplicationError, NotFoundError

from .cache import facility_cache_bump
from .models import Facility, FacilityPhoto

logger = logging.getLogger(__name__)

MAX_PHOTOS_PER_FACILITY = 20
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
PHOTO_UPDATE_FIELDS = frozenset({"caption", "position"})

# (content type, stored extension) by signature. WebP is a RIFF container: "RIFF" <size> "WEBP".
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
SNIFF_BYTES = 12
ALLOWED_TYPES: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def image_type_from_bytes(head: bytes) -> str | None:
    """The content type of an image from its first bytes (≥ 12), or None if not JPEG, PNG or WebP."""
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if head.startswith(_JPEG_SIGNATURE):
        return "image/jpeg"
    if len(head) >= SNIFF_BYTES and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def photo_max_bytes() -> int:
    return int(getattr(settings, "FACILITY_PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES))


def _sniff(file: File[Any]) -> bytes:
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    return head if isinstance(head, bytes) else head.encode()


def photo_check_file(file: File[Any]) -> str:
    """The file's image content type; ``ApplicationError`` on attr ``image`` if it is larger than
    ``FACILITY_PHOTO_MAX_BYTES`` (``image_too_large``) or not JPEG, PNG or WebP by its first bytes
    (``unsupported_image_type``). Reads only the first bytes; the file position is left at 0."""
    max_bytes = photo_max_bytes()
    if (file.size or 0) > max_bytes:
        raise ApplicationError(f"The image is larger than {max_bytes} bytes.", code="image_too_large", attr="image")
    content_type = image_type_from_bytes(_sniff(file))
    if content_type is None:
        raise ApplicationError(
            "Only JPEG, PNG or WebP images are accepted.", code="unsupported_image_type", attr="image"
        )
    return content_type


# ---------------------------------------------------------------------------- reads


def photo_list(*, facility: Facility) -> QuerySet[FacilityPhoto]:
    """The facility's photos in display order (position, then upload order)."""
    return FacilityPhoto.objects.filter(facility=facility).order_by("position", "pk")


def photo_get(*, facility: Facility, photo_id: int) -> FacilityPhoto:
    """A photo of this facility; a photo of any other facility is 404."""
    photo = FacilityPhoto.objects.filter(facility=facility, pk=photo_id).first()
    if photo is None:
        raise NotFoundError("Photo not found.")
    return photo


# ---------------------------------------------------------------------------- writes


def _too_many_photos() -> ApplicationError:
    return ApplicationError(
        f"A facility can have at most {MAX_PHOTOS_PER_FACILITY} photos.", code="too_many_photos", attr="image"
    )


@transaction.atomic
def photo_create(
    *, facility: Facility, file: File[Any], caption: str = "", position: int | None = None
) -> FacilityPhoto:
    """Store an uploaded image for the facility.

    Refuses (``ApplicationError`` on attr ``image``) a file that is not JPEG/PNG/WebP by its magic
    bytes (``unsupported_image_type``), is larger than ``FACILITY_PHOTO_MAX_BYTES``
    (``image_too_large``), or would be the facility's 21st photo (``too_many_photos``), before
    anything is stored. Without ``position`` the photo goes last.

    The file is stored before the facility row is locked, so a slow storage (S3) never holds the
    lock; under the lock the limit is checked again, and a racer that lost the last slot deletes
    the file it stored.
    """
    content_type = photo_check_file(file)
    photos = FacilityPhoto.objects.filter(facility=facility)
    if photos.count() >= MAX_PHOTOS_PER_FACILITY:
        raise _too_many_photos()
    photo = FacilityPhoto(facility=facility, content_type=content_type, caption=caption, position=position or 0)
    photo.full_clean(exclude=["image"])
    photo.image.save(f"{uuid.uuid4().hex}.{ALLOWED_TYPES[content_type]}", file, save=False)
    try:
        # A savepoint, so a refused or failed insert can be cleaned up here (the file is stored).
        with transaction.atomic():
            Facility.objects.select_for_update().filter(pk=facility.pk).first()
            if photos.count() >= MAX_PHOTOS_PER_FACILITY:
                raise _too_many_photos()
            if position is None:
                last = photos.aggregate(last=Max("position"))["last"]
                photo.position = 0 if last is None else last + 1
            photo.save()
    except BaseException:
        _delete_file(photo.image.storage, photo.image.name)
        raise
    facility_cache_bump(facility.pk)
    return photo


@transaction.atomic
def photo_update(*, photo: FacilityPhoto, data: dict[str, Any]) -> FacilityPhoto:
    """Change the caption and/or position (other keys are ignored)."""
    changes = {key: value for key, value in data.items() if key in PHOTO_UPDATE_FIELDS}
    for key, value in changes.items():
        setattr(photo, key, value)
    if changes:
        photo.full_clean(exclude=["image"])
        photo.save(update_fields=list(changes))
        facility_cache_bump(photo.facility_id)
    return photo


@transaction.atomic
def photo_delete(*, photo: FacilityPhoto) -> None:
    """Delete the row now and the stored file once the transaction has committed (a rollback keeps
    both)."""
    storage, name, facility_id = photo.image.storage, photo.image.name, photo.facility_id
    photo.delete()
    if name:
        transaction.on_commit(lambda: _delete_file(storage, name))
    facility_cache_bump(facility_id)


def _delete_file(storage: Storage, name: str | None) -> None:
    if not name:
        return
    try:
        storage.delete(name)
    except Exception:  # noqa: BLE001 - an orphaned file is harmless; a failed request is not
        logger.warning("could not delete stored photo file %s", name, exc_info=True)
