"""The back office shows Idempotency-Key records read-only, and only to platform admins."""

from uuid import uuid4

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from idempotency.models import IdempotencyRecord, IdempotencyStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    now = timezone.now()
    return IdempotencyRecord.objects.create(
        scope="user:1",
        method="POST",
        path="/api/v1/bookings/",
        key="key-1",
        fingerprint="0" * 64,
        status=IdempotencyStatus.COMPLETED,
        claim_token=uuid4(),
        claimed_at=now,
        response_status=201,
        response_body='{"id":1}',
        completed_at=now,
    )


def _client(**flags):
    client = Client()
    client.force_login(UserFactory(email=f"{uuid4().hex[:8]}@example.com", **flags))
    return client


def test_superusers_see_records_read_only(record):
    client = _client(is_staff=True, is_superuser=True)

    assert client.get("/admin/idempotency/idempotencyrecord/").status_code == 200
    assert client.get("/admin/idempotency/idempotencyrecord/?q=key-1").status_code == 200
    detail = client.get(f"/admin/idempotency/idempotencyrecord/{record.pk}/change/")
    assert detail.status_code == 200
    assert b"Save" not in detail.content
    assert client.get("/admin/idempotency/idempotencyrecord/add/").status_code == 403
    assert client.post(f"/admin/idempotency/idempotencyrecord/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert IdempotencyRecord.objects.filter(pk=record.pk).exists()


def test_other_staff_cannot_see_records(record):
    client = _client(is_staff=True)

    assert client.get("/admin/idempotency/idempotencyrecord/").status_code == 403
    assert b"idempotency" not in client.get("/admin/").content.lower()
