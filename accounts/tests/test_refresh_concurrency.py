"""The same refresh token presented by 8 concurrent requests yields exactly one success.

Each thread has its own database connection (Django connections are per thread). A hook widens
the window between "is it blacklisted?" and "blacklist it" so the race is deterministic; the
negative control runs simplejwt's stock refresh view under the same widened window and shows it
lets several requests through.
"""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.urls import path
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import BlacklistMixin
from rest_framework_simplejwt.views import TokenRefreshView

from accounts import tokens
from accounts.tokens import auth_login

from .factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

CONCURRENCY = 8

# A test-only URLconf mounting simplejwt's stock view for the negative control.
urlpatterns = [path("stock-refresh/", TokenRefreshView.as_view())]


def _race(url: str, refresh: str) -> list[int]:
    barrier = threading.Barrier(CONCURRENCY)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        client = APIClient()
        try:
            barrier.wait(timeout=10)
            response = client.post(url, {"refresh": refresh}, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _widen(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> None:
    original: Callable[..., object] = getattr(target, name)

    def slow(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(target, name, slow)


def _count_blacklisted(jti: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM token_blacklist_blacklistedtoken b
            JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id
            WHERE o.jti = %s
            """,
            [jti],
        )
        return int(cursor.fetchone()[0])


def test_eight_concurrent_refreshes_yield_exactly_one_success(monkeypatch):
    user = UserFactory(email="racer@example.com")
    pair = auth_login(email=user.email, password="correct-horse-battery-9")
    monkeypatch.setattr(tokens, "after_refresh_check_hook", lambda: time.sleep(0.3))

    statuses = _race("/api/v1/auth/token/refresh/", pair.refresh)

    assert sorted(statuses) == [200] + [401] * (CONCURRENCY - 1)
    with connection.cursor() as cursor:
        # one rotation: the login token plus the single new token are the only outstanding ones
        cursor.execute("SELECT count(*) FROM token_blacklist_outstandingtoken WHERE user_id = %s", [user.pk])
        assert cursor.fetchone()[0] == 2
        # the losers were treated as reuse: the whole family, the winner's new token too, is revoked
        cursor.execute(
            "SELECT count(*) FROM token_blacklist_outstandingtoken o "
            "LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id "
            "WHERE o.user_id = %s AND b.id IS NULL",
            [user.pk],
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.urls(__name__)
def test_negative_control_stock_simplejwt_lets_several_through(monkeypatch):
    user = UserFactory(email="racer@example.com")
    pair = auth_login(email=user.email, password="correct-horse-battery-9")
    _widen(monkeypatch, BlacklistMixin, "check_blacklist")

    statuses = _race("/stock-refresh/", pair.refresh)

    assert statuses.count(200) > 1, statuses
    jti = tokens._decode(pair.refresh)["jti"]
    assert _count_blacklisted(jti) == 1
