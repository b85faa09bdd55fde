"""Per-facility cache versions: every write that changes what drivers see bumps the facility's
version after commit, and cached public reads carry the version in their key, so a stale entry is
never read again. Cache failures (Redis down) degrade to the database, never to an error."""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")
TTL_SECONDS = 300


def _version_key(facility_id: int) -> str:
    return f"parking:facility:{facility_id}:version"


def facility_cache_version(facility_id: int) -> int:
    try:
        return int(cache.get(_version_key(facility_id)) or 0)
    except Exception:  # noqa: BLE001 - a cache outage must not fail the request
        logger.warning("cache unavailable reading facility version", exc_info=True)
        return -1  # never matches a stored key; the caller goes to the database


def facility_cache_bump(facility_id: int) -> None:
    """Invalidate every cached read of the facility once the current transaction commits."""

    def bump() -> None:
        key = _version_key(facility_id)
        try:
            if not cache.add(key, 1, timeout=None):
                cache.incr(key)
        except Exception:  # noqa: BLE001
            logger.warning("cache unavailable bumping facility version", exc_info=True)

    transaction.on_commit(bump)


def cached_for_facility(facility_id: int, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` cached under the facility's current version (computed fresh on any cache trouble)."""
    version = facility_cache_version(facility_id)
    if version < 0:
        return compute()
    key = f"parking:facility:{facility_id}:v{version}:{name}"
    try:
        hit = cache.get(key)
    except Exception:  # noqa: BLE001
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(key, value, TTL_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("cache unavailable storing %s", name, exc_info=True)
    return value
