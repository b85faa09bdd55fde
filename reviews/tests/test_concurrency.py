"""Aggregates stay exact when reviews land at once; a user's concurrent helpful votes count once.
Separate connections (threads), results checked with SQL."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from accounts.tests.factories import UserFactory
from parking.tests.factories import make_spot
from reviews import services

from .conftest import stay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def _at_once(calls: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            call()
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_six_reviews_at_once_leave_exact_aggregates(facility, zone, window):
    ratings = [5, 4, 4, 3, 1, 2]
    bookings = []
    for n, _rating in enumerate(ratings):
        author = UserFactory(email=f"c{n}@example.com")
        bookings.append((author, stay(author, facility, make_spot(zone, f"C-{n}"), window)))

    outcomes = _at_once(
        [
            (lambda a=author, b=booking, r=rating: services.review_create(author=a, booking_id=b.pk, rating=r))
            for (author, booking), rating in zip(bookings, ratings, strict=True)
        ]
    )

    assert outcomes == ["ok"] * 6
    with connection.cursor() as cursor:
        cursor.execute("SELECT rating_average, rating_count FROM parking_facility WHERE id = %s", [facility.pk])
        average, count = cursor.fetchone()
        cursor.execute(
            "SELECT round(avg(rating), 2), count(*) FROM reviews_review WHERE facility_id = %s", [facility.pk]
        )
        assert (average, count) == cursor.fetchone()
    assert (str(average), count) == ("3.17", 6)


def test_one_users_concurrent_helpful_votes_count_once(facility, spot, window):
    author, voter = UserFactory(email="author@example.com"), UserFactory(email="voter@example.com")
    review = services.review_create(author=author, booking_id=stay(author, facility, spot, window).pk, rating=5)

    outcomes = _at_once([lambda: services.helpful_vote(review=review, user=voter) for _ in range(6)])

    assert sorted(outcomes) == ["already_voted"] * 5 + ["ok"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.helpful_count, (SELECT count(*) FROM reviews_helpfulvote v WHERE v.review_id = r.id) "
            "FROM reviews_review r WHERE r.id = %s",
            [review.pk],
        )
        assert cursor.fetchone() == (1, 1)
