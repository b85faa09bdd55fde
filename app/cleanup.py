"""The daily retention cleanup (ARCHITECTURE §9): every app registers what it purges in its
``ready()``; the ``enforcement.cleanup`` beat job runs them all. A registry keeps the apps' layering
(the job does not import the apps it cleans). Each purge is idempotent and returns how many rows it
changed; one failing purge is logged and does not stop the others (the job then fails, to be seen)."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Purge = Callable[[], int]
_purges: dict[str, Purge] = {}


def register_cleanup(name: str, purge: Purge) -> None:
    _purges[name] = purge


def cleanup_run() -> dict[str, int]:
    """Run every registered purge; returns ``{name: rows}``. Raises after all ran if any failed."""
    counts: dict[str, int] = {}
    failed: list[str] = []
    for name, purge in sorted(_purges.items()):
        try:
            counts[name] = purge()
        except Exception:
            logger.exception("cleanup: %s failed", name)
            failed.append(name)
    if failed:
        raise RuntimeError(f"cleanup failed for {', '.join(failed)} (the others ran: {counts})")
    return counts
