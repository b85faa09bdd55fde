"""Structured logs: every line carries the request id; JSON in production (structlog renders)."""

import logging

import structlog
from structlog.typing import EventDict, WrappedLogger

from app.request_context import current_request_id, current_user_id, organization_ids_var


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def _add_request_id(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("request_id", current_request_id() or "-")
    user_id = current_user_id()
    if user_id is not None:
        event_dict.setdefault("user_id", user_id)
        event_dict.setdefault("organization_ids", _organization_ids(user_id))
    return event_dict


def _organization_ids(user_id: str) -> str:
    """The user's organization ids, comma-separated; looked up once per request (only when a line is
    logged). Never fails the log line: inside a broken transaction it says "?"."""
    cache = organization_ids_var.get()
    if cache is None:
        return "?"
    if user_id not in cache:
        try:
            from accounts.models import Membership

            ids = Membership.objects.filter(user_id=user_id).values_list("organization_id", flat=True)
            cache[user_id] = ",".join(sorted(str(pk) for pk in ids))
        except Exception:
            return "?"
    return cache[user_id]


def structured_formatter(json: bool = False) -> structlog.stdlib.ProcessorFormatter:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    return structlog.stdlib.ProcessorFormatter(
        processor=renderer,
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _add_request_id,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
        ],
    )
