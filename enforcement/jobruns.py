"""Job run log and metrics for the scheduled jobs, from Celery's task signals.

A task declared with ``tracked=True`` (every beat job) gets a ``JobRun`` row per run — started,
finished, succeeded, its returned counts or the error — and Prometheus counters
(``job_runs_total{job, outcome}``, ``job_items_total{job, count}``). It works the same for the
worker, beat-triggered runs and ``manage.py run_job`` (``task.apply()`` fires the same signals).
Recording never breaks a job: a failure to write the row is logged and ignored.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import signals
from django.utils import timezone
from prometheus_client import Counter

from .models import JobRun

logger = logging.getLogger(__name__)

JOB_RUNS = Counter("job_runs_total", "Scheduled job runs by outcome.", ["job", "outcome"])
JOB_ITEMS = Counter("job_items_total", "What scheduled jobs did (their returned counts).", ["job", "count"])

_running: dict[str, int] = {}


def _tracked(task: Any) -> bool:
    return bool(getattr(task, "tracked", False))


@signals.task_prerun.connect
def _started(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    if not _tracked(sender) or task_id is None:
        return
    try:
        _running[task_id] = JobRun.objects.create(job=sender.name, started_at=timezone.now()).pk
    except Exception:
        logger.warning("jobs: could not record the start of %s", sender.name, exc_info=True)


@signals.task_postrun.connect
def _finished(sender: Any = None, task_id: str | None = None, retval: Any = None, state: str = "", **_: Any) -> None:
    if not _tracked(sender) or task_id is None:
        return
    run_id = _running.pop(task_id, None)
    succeeded = state == "SUCCESS"
    JOB_RUNS.labels(job=sender.name, outcome="success" if succeeded else "failure").inc()
    log = logger.info if succeeded else logger.error
    log("jobs: %s %s: %r", sender.name, "done" if succeeded else "failed", retval)
    counts = retval if succeeded and isinstance(retval, dict) else None
    for name, value in (counts or {}).items():
        if isinstance(value, int):
            JOB_ITEMS.labels(job=sender.name, count=name).inc(value)
    if run_id is None:
        return
    if succeeded:
        result: Any = retval if isinstance(retval, dict | int | list | None) else repr(retval)
        fields: dict[str, Any] = {"succeeded": True, "result": result}
    else:
        fields = {"succeeded": False, "error": f"{type(retval).__name__}: {retval}"[:4000]}
    try:
        JobRun.objects.filter(pk=run_id).update(finished_at=timezone.now(), **fields)
    except Exception:
        logger.warning("jobs: could not record the end of %s", sender.name, exc_info=True)


def job_runs_purge(*, keep_days: int = 30) -> int:
    """Delete run rows older than ``keep_days`` (the cleanup job); returns how many."""
    deleted, _ = JobRun.objects.filter(started_at__lt=timezone.now() - timedelta(days=keep_days)).delete()
    return deleted
