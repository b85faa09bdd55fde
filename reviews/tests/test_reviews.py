"""Reviews: who may review, edit, respond and vote (and nothing written when refused), exact
aggregates after create/edit/hide, the public list with its summary and orderings, host emails."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache

from accounts.models import AuditAction, AuditLogEntry
from bookings import services as booking_services
from parking.models import Facility
from reviews import services
from reviews.api.views import ReviewWriteThrottle
from reviews.models import HelpfulVote, OwnerResponse, Review

from .conftest import force_client

pytestmark = pytest.mark.django_db

REVIEWS = "/api/v1/reviews/"


def _facility_reviews(client, facility, **params):
    response = client.get(f"/api/v1/facilities/{facility.pk}/reviews/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def _post(client, booking, capture, rating=4, **extra):
    with capture(execute=True):
        return client.post(REVIEWS, {"booking": str(booking.pk), "rating": rating, **extra})


def _aggregates(facility):
    facility = Facility.objects.get(pk=facility.pk)
    return facility.rating_average, facility.rating_count


def test_driver_reviews_a_completed_stay_and_the_hosts_are_emailed(
    auth_client, driver, completed, facility, owner_a, manager_a, staff_a, django_capture_on_commit_callbacks
):
    driver.first_name, driver.last_name = "Dana", "Driver"
    driver.save(update_fields=["first_name", "last_name"])
    mail.outbox.clear()

    response = _post(
        auth_client(driver), completed, django_capture_on_commit_callbacks, rating=4, title="Easy", comment="Wide bays"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["rating"], body["title"], body["author_name"], body["booking"], body["is_hidden"]) == (
        4,
        "Easy",
        "Dana D.",
        str(completed.pk),
        False,
    )
    assert _aggregates(facility) == (Decimal("4.00"), 1)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner_a.email, manager_a.email])  # not staff
    assert "4-star" in mail.outbox[0].subject
    detail = auth_client(driver).get(f"/api/v1/facilities/{facility.pk}/").json()
    assert (detail["average_rating"], detail["review_count"]) == ("4.00", 1)


def test_who_may_review_every_refusal_is_clear_and_writes_nothing(
    auth_client, driver, other_driver, completed, facility, spot, window, zone, django_capture_on_commit_callbacks
):
    from parking.tests.factories import make_spot
    from vehicles.tests.factories import VehicleFactory

    start, end = window
    car = VehicleFactory(owner=driver, vehicle_type="standard")
    not_done = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver, vehicle=car, facility=facility, spot=make_spot(zone, "N-1"), start=start, end=end
        )
    )
    cases = [
        (auth_client(driver), not_done, 400, "booking_not_completed"),
        (auth_client(other_driver), completed, 400, "invalid"),  # someone else's stay: not revealed
    ]
    for client, booking, status, code in cases:
        response = _post(client, booking, django_capture_on_commit_callbacks)
        assert (response.status_code, response.json()["errors"][0]["code"]) == (status, code)
        assert response.json()["errors"][0]["attr"] == "booking"
    bad_rating = auth_client(driver).post(REVIEWS, {"booking": str(completed.pk), "rating": 6})
    assert (bad_rating.status_code, bad_rating.json()["errors"][0]["attr"]) == (400, "rating")
    with time_machine.travel(completed.checked_out_at + timedelta(days=30, seconds=1)):
        late = _post(force_client(driver), completed, django_capture_on_commit_callbacks)
    assert (late.status_code, late.json()["errors"][0]["code"]) == (400, "review_window_closed")
    assert (Review.objects.count(), _aggregates(facility)) == (0, (None, 0))

    with time_machine.travel(completed.checked_out_at + timedelta(days=30), tick=False):
        assert _post(force_client(driver), completed, django_capture_on_commit_callbacks).status_code == 201
    twice = _post(auth_client(driver), completed, django_capture_on_commit_callbacks, rating=1)
    assert (twice.status_code, twice.json()["errors"][0]["code"]) == (409, "already_reviewed")
    assert (Review.objects.count(), _aggregates(facility)) == (1, (Decimal("4.00"), 1))


def test_edit_within_48_hours_updates_the_aggregates_and_not_after(
    auth_client, driver, other_driver, completed, facility, django_capture_on_commit_callbacks
):
    review_id = _post(auth_client(driver), completed, django_capture_on_commit_callbacks, rating=2).json()["id"]
    created = Review.objects.get().created_at

    with time_machine.travel(created + timedelta(hours=47)):
        edited = force_client(driver).patch(f"{REVIEWS}{review_id}/", {"rating": 5, "comment": "Better than I said"})
    assert edited.status_code == 200, edited.json()
    assert (edited.json()["rating"], edited.json()["edited_at"] is not None) == (5, True)
    assert _aggregates(facility) == (Decimal("5.00"), 1)
    assert auth_client(other_driver).patch(f"{REVIEWS}{review_id}/", {"rating": 1}).status_code == 404
    with time_machine.travel(created + timedelta(hours=48, seconds=1)):
        late = force_client(driver).patch(f"{REVIEWS}{review_id}/", {"rating": 1})
    assert (late.status_code, late.json()["errors"][0]["code"]) == (409, "edit_window_closed")
    assert Review.objects.get().rating == 5


def test_hidden_reviews_leave_the_public_list_and_the_aggregates(
    auth_client,
    api_client,
    driver,
    other_driver,
    completed,
    other_completed,
    facility,
    admin_user,
    django_capture_on_commit_callbacks,
):
    _post(auth_client(driver), completed, django_capture_on_commit_callbacks, rating=5)
    _post(auth_client(other_driver), other_completed, django_capture_on_commit_callbacks, rating=2)
    assert _aggregates(facility) == (Decimal("3.50"), 2)
    spam = Review.objects.get(rating=2)

    services.review_set_hidden(review=spam, actor=admin_user, hidden=True, reason="Off-topic")

    assert _aggregates(facility) == (Decimal("5.00"), 1)
    public = _facility_reviews(api_client, facility)
    assert [r["rating"] for r in public["results"]] == [5]
    assert public["summary"] == {"average": "5.00", "count": 1, "stars": {"5": 1, "4": 0, "3": 0, "2": 0, "1": 0}}
    assert api_client.get(f"{REVIEWS}{spam.pk}/").status_code == 404
    assert auth_client(other_driver).get(f"{REVIEWS}{spam.pk}/").status_code == 200  # the author still sees it
    audit = AuditLogEntry.objects.get(action=AuditAction.REVIEW_HIDDEN)
    assert (audit.actor_id, audit.data["reason"]) == (admin_user.pk, "Off-topic")

    services.review_set_hidden(review=spam, actor=admin_user, hidden=False, reason="Appeal accepted")
    assert _aggregates(facility) == (Decimal("3.50"), 2)


def test_admin_hides_a_review_with_a_reason(
    client, admin_user, driver, completed, facility, django_capture_on_commit_callbacks
):
    review = services.review_create(author=driver, booking_id=completed.pk, rating=1, comment="rude words")
    client.force_login(admin_user)
    url = "/admin/reviews/review/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "hide", "_selected_action": [review.pk]}).status_code == 200  # the form
    assert Review.objects.get().is_hidden is False
    done = client.post(url, {"action": "hide", "_selected_action": [review.pk], "apply": "1", "reason": "Abuse"})
    assert done.status_code == 302
    assert (Review.objects.get().is_hidden, Review.objects.get().hidden_reason) == (True, "Abuse")
    assert _aggregates(facility) == (None, 0)


def test_host_responds_once_and_edits_others_may_not(
    auth_client, driver, completed, owner_a, manager_a, staff_a, owner_b, django_capture_on_commit_callbacks
):
    review_id = _post(auth_client(driver), completed, django_capture_on_commit_callbacks).json()["id"]
    url = f"{REVIEWS}{review_id}/response/"
    for outsider in (staff_a, owner_b, driver):
        refused = auth_client(outsider).post(url, {"body": "Thanks"})
        assert (refused.status_code, refused.json()["errors"][0]["code"]) == (403, "permission_denied")
    assert OwnerResponse.objects.count() == 0

    first = auth_client(owner_a).post(url, {"body": "Thanks for parking with us"})
    assert first.status_code == 201, first.json()
    second = auth_client(manager_a).post(url, {"body": "Again"})
    assert (second.status_code, second.json()["errors"][0]["code"]) == (409, "already_responded")
    edited = auth_client(manager_a).patch(url, {"body": "Thanks! See you soon"})
    assert (edited.status_code, edited.json()["body"]) == (200, "Thanks! See you soon")
    assert auth_client(driver).get(f"{REVIEWS}{review_id}/").json()["response"]["body"] == "Thanks! See you soon"


def test_helpful_votes_once_per_user_never_own(
    auth_client, driver, other_driver, completed, django_capture_on_commit_callbacks
):
    review_id = _post(auth_client(driver), completed, django_capture_on_commit_callbacks).json()["id"]
    url = f"{REVIEWS}{review_id}/helpful/"
    own = auth_client(driver).post(url)
    assert (own.status_code, own.json()["errors"][0]["code"]) == (400, "own_review")
    assert auth_client(other_driver).post(url).json()["helpful_count"] == 1
    again = auth_client(other_driver).post(url)
    assert (again.status_code, again.json()["errors"][0]["code"]) == (409, "already_voted")
    assert (Review.objects.get().helpful_count, HelpfulVote.objects.count()) == (1, 1)


def test_public_list_orderings_and_summary(api_client, facility, zone, window, django_capture_on_commit_callbacks):
    from accounts.tests.factories import UserFactory
    from parking.tests.factories import make_spot

    from .conftest import stay

    ids = {}
    for n, rating in enumerate((5, 3, 4)):
        author = UserFactory(email=f"author{n}@example.com")
        booking = stay(author, facility, make_spot(zone, f"O-{n}"), window)
        ids[rating] = services.review_create(author=author, booking_id=booking.pk, rating=rating).pk
    Review.objects.filter(pk=ids[3]).update(helpful_count=7)
    Review.objects.filter(pk=ids[4]).update(helpful_count=2)

    def order(name):
        return [r["rating"] for r in _facility_reviews(api_client, facility, ordering=name)["results"]]

    assert order("newest") == [4, 3, 5]
    assert order("oldest") == [5, 3, 4]
    assert order("rating") == [5, 4, 3]
    assert order("rating_asc") == [3, 4, 5]
    assert order("helpful") == [3, 4, 5]
    page = _facility_reviews(api_client, facility, page_size=2)
    assert (page["count"], len(page["results"]), page["next"] is not None) == (3, 2, True)
    assert page["summary"] == {"average": "4.00", "count": 3, "stars": {"5": 1, "4": 1, "3": 1, "2": 0, "1": 0}}
    bad = api_client.get(f"/api/v1/facilities/{facility.pk}/reviews/", {"ordering": "random"})
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "ordering")


def test_owners_list_their_facilities_reviews_with_filters(
    auth_client, driver, other_driver, completed, other_completed, owner_a, owner_b, django_capture_on_commit_callbacks
):
    _post(auth_client(driver), completed, django_capture_on_commit_callbacks, rating=5)
    low = _post(auth_client(other_driver), other_completed, django_capture_on_commit_callbacks, rating=1).json()["id"]
    auth_client(owner_a).post(f"{REVIEWS}{low}/response/", {"body": "Sorry!"})

    client = auth_client(owner_a)
    assert len(client.get(REVIEWS).json()["results"]) == 2
    assert [r["id"] for r in client.get(REVIEWS, {"max_rating": 2}).json()["results"]] == [low]
    assert [r["id"] for r in client.get(REVIEWS, {"has_response": "true"}).json()["results"]] == [low]
    assert auth_client(owner_b).get(REVIEWS).json()["results"] == []
    assert [r["rating"] for r in auth_client(driver).get(REVIEWS).json()["results"]] == [5]


def test_review_writes_are_throttled(auth_client, driver, other_driver, completed, monkeypatch):
    review = services.review_create(author=driver, booking_id=completed.pk, rating=4)
    monkeypatch.setattr(ReviewWriteThrottle, "THROTTLE_RATES", {"reviews": "2/hour"})
    cache.clear()
    client = auth_client(other_driver)
    statuses = [client.post(f"{REVIEWS}{review.pk}/helpful/").status_code for _ in range(3)]
    assert statuses == [200, 409, 429]
    assert client.get(f"{REVIEWS}{review.pk}/").status_code == 200  # reads are not counted
