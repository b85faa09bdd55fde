"""Database helpers shared by the apps' services."""

from django.db import connection


def set_lock_timeout(milliseconds: int) -> None:
    """Bound lock waits inside the current transaction (``SET LOCAL``): a timeout raises
    ``OperationalError`` (SQLSTATE 55P03), which the API renders as "busy" (409 + Retry-After)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {int(milliseconds)}")
