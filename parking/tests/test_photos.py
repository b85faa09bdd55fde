import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from parking import photos
from parking.models import FacilityPhoto

from .factories import make_facility

pytestmark = pytest.mark.django_db


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def tiny_png() -> bytes:
    """A valid 1×1 RGB PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


TINY_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
TINY_WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def url(facility_id: int, photo_id: int | None = None) -> str:
    base = f"/api/v1/facilities/{facility_id}/photos/"
    return base if photo_id is None else f"{base}{photo_id}/"


def upload(client, facility_id: int, content: bytes, name: str = "photo.png", content_type: str = "image/png", **extra):
    data = {"image": SimpleUploadedFile(name, content, content_type=content_type), **extra}
    return client.post(url(facility_id), data, format="multipart")


def add_photo(facility, **kwargs) -> FacilityPhoto:
    return photos.photo_create(facility=facility, file=ContentFile(tiny_png(), name="x.png"), **kwargs)


def single_error(response) -> dict:
    body = response.json()
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


# ---------------------------------------------------------------------------- magic bytes


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (tiny_png(), "image/png"),
        (TINY_JPEG, "image/jpeg"),
        (TINY_WEBP, "image/webp"),
        (b"hello, I am text", None),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"", None),
    ],
)
def test_image_type_is_detected_from_magic_bytes(head, expected):
    assert photos.image_type_from_bytes(head[:12]) == expected


# ---------------------------------------------------------------------------- upload


def test_owner_uploads_a_png(auth_client, owner_a, garage_a, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(auth_client(owner_a), garage_a.pk, tiny_png(), name="front.txt", caption="Entrance")

    assert response.status_code == 201, response.json()
    body = response.json()
    photo = FacilityPhoto.objects.get()
    assert body["id"] == photo.pk
    assert body["caption"] == "Entrance"
    assert body["position"] == 0
    assert body["content_type"] == "image/png"
    assert body["url"] == f"http://testserver/media/{photo.image.name}"
    assert photo.facility_id == garage_a.pk
    # The stored name is random with the detected extension, never the client's name.
    assert photo.image.name.startswith("facility-photos/")
    assert photo.image.name.endswith(".png")
    assert "front" not in photo.image.name
    assert (media_root / photo.image.name).read_bytes() == tiny_png()
    assert len(callbacks) == 1  # the facility cache bump


@pytest.mark.parametrize(
    ("content", "content_type", "stored"),
    [(TINY_JPEG, "image/jpeg", ".jpg"), (TINY_WEBP, "image/webp", ".webp")],
)
def test_manager_uploads_jpeg_and_webp(auth_client, manager_a, garage_a, content, content_type, stored):
    response = upload(auth_client(manager_a), garage_a.pk, content, name="x.bin", content_type="application/x")

    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == content_type
    assert FacilityPhoto.objects.get().image.name.endswith(stored)


def test_uploads_go_last_unless_a_position_is_given(auth_client, owner_a, garage_a):
    client = auth_client(owner_a)

    first = upload(client, garage_a.pk, tiny_png()).json()
    second = upload(client, garage_a.pk, tiny_png()).json()
    chosen = upload(client, garage_a.pk, tiny_png(), position=7).json()

    assert (first["position"], second["position"], chosen["position"]) == (0, 1, 7)


def test_text_file_named_png_is_refused_and_nothing_is_stored(auth_client, owner_a, garage_a, media_root):
    response = upload(auth_client(owner_a), garage_a.pk, b"just some text, honestly", name="evil.png")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    error = single_error(response)
    assert (error["code"], error["attr"]) == ("unsupported_image_type", "image")
    assert FacilityPhoto.objects.count() == 0
    assert stored_files(media_root) == []


def test_too_large_image_is_refused(auth_client, owner_a, garage_a, settings, media_root):
    settings.FACILITY_PHOTO_MAX_BYTES = 64
    content = tiny_png() + b"\x00" * 64

    response = upload(auth_client(owner_a), garage_a.pk, content)

    assert response.status_code == 400
    error = single_error(response)
    assert (error["code"], error["attr"]) == ("image_too_large", "image")
    assert FacilityPhoto.objects.count() == 0
    assert stored_files(media_root) == []


def test_image_at_the_size_limit_is_accepted(auth_client, owner_a, garage_a, settings):
    settings.FACILITY_PHOTO_MAX_BYTES = len(tiny_png())

    response = upload(auth_client(owner_a), garage_a.pk, tiny_png())

    assert response.status_code == 201


def test_twenty_first_photo_is_refused(auth_client, owner_a, garage_a, media_root):
    for _ in range(photos.MAX_PHOTOS_PER_FACILITY):
        add_photo(garage_a)
    files_before = sorted(stored_files(media_root))

    response = upload(auth_client(owner_a), garage_a.pk, tiny_png())

    assert response.status_code == 400
    error = single_error(response)
    assert (error["code"], error["attr"]) == ("too_many_photos", "image")
    assert FacilityPhoto.objects.filter(facility=garage_a).count() == 20
    assert sorted(stored_files(media_root)) == files_before


def test_missing_image_is_a_validation_error(auth_client, owner_a, garage_a):
    response = auth_client(owner_a).post(url(garage_a.pk), {"caption": "no file"}, format="multipart")

    assert response.status_code == 400
    error = single_error(response)
    assert (error["code"], error["attr"]) == ("required", "image")
    assert FacilityPhoto.objects.count() == 0


def test_owner_of_another_organization_gets_404_and_nothing_changes(
    auth_client, owner_b, garage_a, media_root, django_capture_on_commit_callbacks
):
    photo = add_photo(garage_a, caption="Mine")
    client = auth_client(owner_b)

    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            upload(client, garage_a.pk, tiny_png()),
            client.patch(url(garage_a.pk, photo.pk), {"caption": "Theirs"}),
            client.delete(url(garage_a.pk, photo.pk)),
        ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert all(single_error(r)["code"] == "not_found" for r in responses)
    photo.refresh_from_db()
    assert photo.caption == "Mine"
    assert FacilityPhoto.objects.count() == 1
    assert stored_files(media_root) == [media_root / photo.image.name]


def test_photo_of_another_facility_is_404_through_my_facility(auth_client, owner_a, owner_b, garage_a, garage_b):
    theirs = add_photo(garage_b)

    response = auth_client(owner_a).patch(url(garage_a.pk, theirs.pk), {"caption": "x"})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.caption == ""


def test_staff_member_cannot_upload(auth_client, staff_a, garage_a, media_root):
    response = upload(auth_client(staff_a), garage_a.pk, tiny_png())

    assert response.status_code == 403
    assert single_error(response)["code"] == "permission_denied"
    assert FacilityPhoto.objects.count() == 0
    assert stored_files(media_root) == []


def test_staff_member_cannot_change_or_delete(auth_client, staff_a, garage_a):
    photo = add_photo(garage_a)
    client = auth_client(staff_a)

    assert client.patch(url(garage_a.pk, photo.pk), {"position": 3}).status_code == 403
    assert client.delete(url(garage_a.pk, photo.pk)).status_code == 403
    photo.refresh_from_db()
    assert photo.position == 0


def test_anonymous_upload_is_401(api_client, garage_a):
    response = upload(api_client, garage_a.pk, tiny_png())

    assert response.status_code == 401
    assert FacilityPhoto.objects.count() == 0


def test_json_upload_is_415(auth_client, owner_a, garage_a):
    response = auth_client(owner_a).post(url(garage_a.pk), {"caption": "x"}, format="json")

    assert response.status_code == 415


# ---------------------------------------------------------------------------- list


def test_anonymous_lists_photos_of_a_published_facility_in_order(api_client, garage_a):
    last = add_photo(garage_a, position=5, caption="last")
    first = add_photo(garage_a, position=0, caption="first")
    middle = add_photo(garage_a, position=5, caption="same position, later upload")

    response = api_client.get(url(garage_a.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == [first.pk, last.pk, middle.pk]
    assert set(body["results"][0]) == {"id", "url", "caption", "position", "content_type", "created_at"}
    assert body["results"][0]["url"].startswith("http://testserver/media/facility-photos/")


def test_list_is_paginated(api_client, garage_a):
    for _ in range(3):
        add_photo(garage_a)

    body = api_client.get(url(garage_a.pk), {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_unpublished_facility_photos_are_visible_to_members_only(api_client, auth_client, org_a, staff_a, owner_b):
    hidden = make_facility(org_a, name="Hidden Lot", is_published=False)
    add_photo(hidden)

    assert api_client.get(url(hidden.pk)).status_code == 404
    assert auth_client(owner_b).get(url(hidden.pk)).status_code == 404
    response = auth_client(staff_a).get(url(hidden.pk))
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_unknown_facility_is_404(api_client):
    assert api_client.get(url(999_999)).status_code == 404


# ---------------------------------------------------------------------------- change and delete


def test_owner_changes_position_and_caption(auth_client, owner_a, garage_a, django_capture_on_commit_callbacks):
    photo = add_photo(garage_a)

    with django_capture_on_commit_callbacks() as callbacks:
        response = auth_client(owner_a).patch(url(garage_a.pk, photo.pk), {"position": 4})

    assert response.status_code == 200
    assert response.json()["position"] == 4
    photo.refresh_from_db()
    assert (photo.position, photo.caption) == (4, "")
    assert len(callbacks) == 1  # cache bump

    response = auth_client(owner_a).patch(url(garage_a.pk, photo.pk), {"caption": "Level 2 ramp"})
    photo.refresh_from_db()
    assert (photo.position, photo.caption) == (4, "Level 2 ramp")


def test_negative_position_is_refused(auth_client, owner_a, garage_a):
    photo = add_photo(garage_a)

    response = auth_client(owner_a).patch(url(garage_a.pk, photo.pk), {"position": -1})

    assert response.status_code == 400
    assert single_error(response)["attr"] == "position"


def test_owner_deletes_a_photo_and_the_file_goes_after_commit(
    auth_client, owner_a, garage_a, media_root, django_capture_on_commit_callbacks
):
    photo = add_photo(garage_a)
    path = media_root / photo.image.name
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(owner_a).delete(url(garage_a.pk, photo.pk))

    assert response.status_code == 204
    assert not FacilityPhoto.objects.filter(pk=photo.pk).exists()
    assert not path.exists()
    assert not default_storage.exists(photo.image.name)


def test_delete_keeps_the_file_until_commit(garage_a, media_root, django_capture_on_commit_callbacks):
    photo = add_photo(garage_a)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photos.photo_delete(photo=photo)
        assert (media_root / photo.image.name).exists()

    assert len(callbacks) == 2  # file deletion + cache bump, both deferred to commit


def test_list_has_a_fixed_query_count(api_client, garage_a, django_assert_num_queries):
    for _ in range(5):
        add_photo(garage_a)

    # facility, count, page: the same for any number of photos
    with django_assert_num_queries(3):
        response = api_client.get(url(garage_a.pk))

    assert response.json()["count"] == 5


# ---------------------------------------------------------------------------- concurrency

RACERS = 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_concurrent_uploads_never_exceed_the_limit(org_a, media_root, monkeypatch):
    """Racers with their own connections upload to a facility with one free slot: exactly one wins.

    The window between counting and inserting is widened (the stored-name step sleeps), so without
    the facility row lock several would see 19 photos and all insert.
    """
    import threading
    import time
    import uuid as uuid_module

    from django.db import connections

    from app.exceptions import ApplicationError

    facility = make_facility(org_a, name="Race Garage")
    for _ in range(photos.MAX_PHOTOS_PER_FACILITY - 1):
        add_photo(facility)

    class SlowUuid:
        @staticmethod
        def uuid4():
            time.sleep(0.2)
            return uuid_module.uuid4()

    monkeypatch.setattr(photos, "uuid", SlowUuid)
    barrier = threading.Barrier(RACERS)
    results: list[str] = []
    lock = threading.Lock()

    def racer() -> None:
        try:
            barrier.wait(timeout=10)
            try:
                photos.photo_create(facility=facility, file=ContentFile(tiny_png(), name="r.png"))
                outcome = "created"
            except ApplicationError as exc:
                outcome = exc.code
            with lock:
                results.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["created"] + ["too_many_photos"] * (RACERS - 1)
    assert FacilityPhoto.objects.filter(facility=facility).count() == photos.MAX_PHOTOS_PER_FACILITY
    assert len(stored_files(media_root)) == photos.MAX_PHOTOS_PER_FACILITY
