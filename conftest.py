"""Suite-wide setup: refuse to run without real PostgreSQL and Redis, and shared fixtures."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytest_plugins = ["accounts.tests.fixtures", "bookings.tests.fixtures"]


def _fail_fast_if_services_missing() -> None:
    """Stop at once, naming what is missing and how to start it — never skip silently."""
    import psycopg
    import redis
    from django.conf import settings

    problems: list[str] = []
    redis_url = settings.REDIS_URL
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(
            f"Redis is unreachable at {redis_url} ({exc}).\n"
            "  Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
            "  or point REDIS_URL at a running Redis."
        )
    db: dict[str, Any] = settings.DATABASES["default"]
    try:
        psycopg.connect(
            dbname="postgres",
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            connect_timeout=3,
        ).close()
    except Exception as exc:  # noqa: BLE001
        problems.append(
            f"PostgreSQL is unreachable at host={db.get('HOST')!r} port={db.get('PORT')!r} ({exc}).\n"
            "  Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "  or unset DATABASE_URL to use the embedded PostgreSQL."
        )
    if problems:
        pytest.exit("Required services are not available:\n" + "\n".join(problems), returncode=3)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings.test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Concurrency tests open dozens of connections each: keep them on one xdist worker so two of
    # them never run at once (PostgreSQL's max_connections is 100).
    for item in items:
        if item.get_closest_marker("concurrency"):
            item.add_marker(pytest.mark.xdist_group("concurrency"))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    import django

    django.setup()
    _fail_fast_if_services_missing()


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Each test starts with an empty cache (throttle counters included) under its worker's prefix."""
    from django.core.cache import cache

    cache.delete_pattern("*")  # type: ignore[attr-defined]
    return


@pytest.fixture
def api_client() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def auth_client() -> Any:
    """Returns a function giving an APIClient authenticated as the given user (real JWT)."""
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    def make(user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return client

    return make
