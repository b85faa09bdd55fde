"""Per-request context (request id, client IP) readable from anywhere: logs, audit log, services."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
# The authenticated user of the request (set by the authentication classes / middleware) and a
# per-request cache of their organization ids (filled lazily the first time a log line needs it).
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)
organization_ids_var: ContextVar[dict[str, str] | None] = ContextVar("organization_ids", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_client_ip() -> str | None:
    return client_ip_var.get()


def current_user_id() -> str | None:
    return user_id_var.get()
