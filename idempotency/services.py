"""Writes for Idempotency-Key records: claim, complete, release, purge (contract: ``app.idempotency``).

Every function here runs in its own short transaction(s) and must be called in autocommit mode (no
outer ``transaction.atomic()``; ``ATOMIC_REQUESTS`` is off): a claim has to be committed, and so
visible to every other connection, before the operation it guards starts, and the operation runs in
its own transactions between the claim and the completion.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from app.idempotency import (
    IdempotencyKeyReusedError,
    IdempotencyRequestInProgressError,
    idempotency_lease,
    idempotency_poll_seconds,
    idempotency_ttl,
    idempotency_wait_seconds,
)

from .models import IdempotencyRecord, IdempotencyStatus

logger = logging.getLogger(__name__)

PURGE_BATCH_SIZE = 5000


@dataclass(frozen=True)
class IdempotencyClaim:
    """This request holds the key: run the operation, then complete or release the claim."""

    record_id: int
    token: uuid.UUID


@dataclass(frozen=True)
class StoredResponse:
    """The answer the first request with this key got: replay it."""

    status: int
    body: str | None
    headers: dict[str, str] = field(default_factory=dict)


class _Held:
    """Another live request holds the key."""


class _Retry:
    """The row changed under us (deleted, expired, taken over): look again at once."""


_HELD = _Held()
_RETRY = _Retry()


def idempotency_claim(
    *, scope: str, method: str, path: str, key: str, fingerprint: str
) -> IdempotencyClaim | StoredResponse:
    """Claim ``key`` for this request, or return the stored answer of the request that had it.

    Inserts the ``in_progress`` row in its own transaction; of several concurrent requests exactly one
    inserts it (the unique constraint decides), the others poll in new short transactions every
    ``IDEMPOTENCY_POLL_SECONDS`` until the holder completes (→ ``StoredResponse``) or releases the key
    (→ one of them claims it) or ``IDEMPOTENCY_WAIT_SECONDS`` pass (→ ``IdempotencyRequestInProgressError``,
    409). A different ``fingerprint`` for the same key is ``IdempotencyKeyReusedError`` (422), at once.
    """
    deadline = time.monotonic() + idempotency_wait_seconds()
    while True:
        outcome = _claim_once(scope=scope, method=method, path=path, key=key, fingerprint=fingerprint)
        if isinstance(outcome, IdempotencyClaim | StoredResponse):
            return outcome
        if isinstance(outcome, _Retry):
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise IdempotencyRequestInProgressError
        time.sleep(min(idempotency_poll_seconds(), remaining))


def _claim_once(
    *, scope: str, method: str, path: str, key: str, fingerprint: str
) -> IdempotencyClaim | StoredResponse | _Held | _Retry:
    now = timezone.now()
    token = uuid.uuid4()
    try:
        # get_or_create = SELECT, then INSERT in a savepoint; a concurrent INSERT of the same key waits
        # for the other transaction and then fails with IntegrityError, after which it reads the
        # committed row. So at most one request ever gets ``created``.
        with transaction.atomic():
            record, created = IdempotencyRecord.objects.get_or_create(
                scope=scope,
                method=method,
                path=path,
                key=key,
                defaults={"fingerprint": fingerprint, "claim_token": token, "claimed_at": now, "created_at": now},
            )
    except IntegrityError:
        # The holder released the key between our failed INSERT and our read.
        return _RETRY
    if created:
        return IdempotencyClaim(record_id=record.pk, token=token)

    if record.created_at < now - idempotency_ttl():
        # Expired but not yet purged: the key is new again. Delete exactly the row we saw.
        IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
        return _RETRY
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReusedError
    if record.status == IdempotencyStatus.COMPLETED:
        assert record.response_status is not None  # guaranteed by a check constraint
        return StoredResponse(
            status=record.response_status, body=record.response_body, headers=dict(record.response_headers or {})
        )
    if record.claimed_at < now - idempotency_lease():
        # The holder has been at it for longer than any request may run: its worker died. Take over
        # (conditionally, so only one of several waiting requests does).
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, claim_token=record.claim_token, status=IdempotencyStatus.IN_PROGRESS
        ).update(claim_token=token, claimed_at=now)
        if taken:
            logger.warning("Idempotency record %s: took over an abandoned in-progress claim", record.pk)
            return IdempotencyClaim(record_id=record.pk, token=token)
        return _RETRY
    return _HELD


def idempotency_complete(*, claim: IdempotencyClaim, response: StoredResponse) -> bool:
    """Store the final answer for the claimed key. False if the claim was lost (taken over after its
    lease ran out, or purged): the answer is then not stored, and the caller still returns it."""
    updated = IdempotencyRecord.objects.filter(
        pk=claim.record_id, claim_token=claim.token, status=IdempotencyStatus.IN_PROGRESS
    ).update(
        status=IdempotencyStatus.COMPLETED,
        response_status=response.status,
        response_body=response.body,
        response_headers=response.headers,
        completed_at=timezone.now(),
    )
    if not updated:
        logger.warning("Idempotency record %s: claim lost before completion; answer not stored", claim.record_id)
    return bool(updated)


def idempotency_release(*, claim: IdempotencyClaim) -> bool:
    """Give the key back (the answer was transient): the next request with it runs the operation."""
    deleted, _ = IdempotencyRecord.objects.filter(
        pk=claim.record_id, claim_token=claim.token, status=IdempotencyStatus.IN_PROGRESS
    ).delete()
    return bool(deleted)


def idempotency_records_purge(
    *, older_than: timedelta | None = None, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE
) -> int:
    """Delete records created more than ``older_than`` (default ``IDEMPOTENCY_TTL``, 24 h) before
    ``now``, in batches of ``batch_size`` rows; returns how many were deleted. Idempotent, safe to run
    from several workers at once (a row deleted by another worker is simply not counted twice)."""
    cutoff = (now or timezone.now()) - (older_than if older_than is not None else idempotency_ttl())
    total = 0
    while True:
        batch = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).order_by().values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return total
        deleted, _ = IdempotencyRecord.objects.filter(pk__in=batch, created_at__lt=cutoff).delete()
        total += deleted
