"""Writing the append-only audit log. Never pass plates, passwords or tokens in ``data``."""

from typing import Any

from app.request_context import current_client_ip, current_request_id

from .models import AuditAction, AuditLogEntry, User


def audit_log_record(
    *,
    action: AuditAction,
    actor: User | None,
    organization_id: Any = None,
    target: Any = None,
    data: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditLogEntry:
    """Append one audit row; IP and request id come from the current request's context."""
    return AuditLogEntry.objects.create(
        action=action,
        actor_id=actor.pk if actor is not None else None,
        actor_email=actor.email if actor is not None else actor_email,
        organization_id=organization_id,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip_address=current_client_ip(),
        request_id=current_request_id() or "",
        data=data or {},
    )
