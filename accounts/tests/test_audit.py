import pytest
from django.db import ProgrammingError, connection, transaction

from accounts.audit import audit_log_record
from accounts.models import AuditAction, AuditLogEntry

pytestmark = pytest.mark.django_db


def test_audit_rows_cannot_be_updated_or_deleted():
    entry = audit_log_record(action=AuditAction.LOGIN_FAILED, actor=None, actor_email="x@example.com")

    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        AuditLogEntry.objects.filter(pk=entry.pk).update(actor_email="rewritten@example.com")
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        AuditLogEntry.objects.filter(pk=entry.pk).delete()
    with (
        pytest.raises(ProgrammingError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM accounts_auditlogentry")

    entry.refresh_from_db()
    assert entry.actor_email == "x@example.com"
    assert AuditLogEntry.objects.count() == 1
