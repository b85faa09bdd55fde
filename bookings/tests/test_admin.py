"""Back office for bookings: tenant scoping, plate search, actions through the services, outbox retry."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from bookings import services
from bookings.models import Booking, BookingEvent, BookingStatus, OutboxKind, OutboxMessage
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/bookings/booking/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def superuser():
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


def _staff_of(org, email):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="bookings"))
    MembershipFactory(user=user, organization=org, role=Role.STAFF)
    return user


@pytest.fixture
def booking(driver, car, facility, spot, window, django_capture_on_commit_callbacks):
    start, end = window
    with django_capture_on_commit_callbacks(execute=True):
        return services.booking_create(
            services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
        )


def _book_more(facility, zone, driver, window, count):
    start, end = window
    for n in range(count):
        spot = make_spot(zone, f"M-{n}")
        vehicle = VehicleFactory(owner=driver)
        services.booking_create(
            services.BookingRequest(driver=driver, vehicle=vehicle, facility=facility, spot=spot, start=start, end=end)
        )


def test_superuser_finds_booking_by_reference_and_exact_plate(superuser, booking, car):
    client = _client(superuser)
    by_reference = client.get(CHANGELIST, {"q": booking.reference})
    assert by_reference.status_code == 200
    assert list(by_reference.context["cl"].result_list) == [booking]

    spaced = f"{car.plate[:3]} {car.plate[3:].lower()}"  # normalised like any plate input
    by_plate = client.get(CHANGELIST, {"q": spaced})
    assert list(by_plate.context["cl"].result_list) == [booking]
    assert list(client.get(CHANGELIST, {"q": car.plate[:4]}).context["cl"].result_list) == []  # exact only

    detail = client.get(f"{CHANGELIST}{booking.pk}/change/")
    assert detail.status_code == 200
    assert car.plate not in detail.content.decode()  # plates are not shown in the back office


def test_staff_of_other_organization_sees_nothing(org_b, booking):
    client = _client(_staff_of(org_b, "desk-b@example.com"))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert client.get(f"{CHANGELIST}{booking.pk}/change/").status_code == 302  # "doesn't exist" redirect
    client.post(CHANGELIST, {"action": "cancel_bookings", "_selected_action": [str(booking.pk)]})
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert client.get("/admin/bookings/outboxmessage/").context["cl"].result_list.count() == 0


def test_staff_of_own_organization_cancels_through_the_service(org_a, booking, django_capture_on_commit_callbacks):
    desk = _staff_of(org_a, "desk-a@example.com")
    client = _client(desk)
    assert list(client.get(CHANGELIST).context["cl"].result_list) == [booking]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST, {"action": "cancel_bookings", "_selected_action": [str(booking.pk)]}, follow=True
        )
    assert "1 booking(s) cancelled." in _messages(response)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.refund_amount == booking.total
    event = BookingEvent.objects.filter(booking=booking).latest("created_at")
    assert (event.to_status, event.actor, event.reason) == (
        BookingStatus.CANCELLED,
        desk,
        "cancelled in the back office",
    )
    assert OutboxMessage.objects.filter(booking=booking, kind=OutboxKind.BOOKING_CANCELLED).count() == 1


def test_refused_transition_is_reported_and_changes_nothing(superuser, booking):
    response = _client(superuser).post(
        CHANGELIST, {"action": "check_in_bookings", "_selected_action": [str(booking.pk)]}, follow=True
    )
    [message] = _messages(response)
    assert message.startswith(f"Not checked in: {booking.reference}: Check-in opens at")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.checked_in_at is None


def test_no_add_or_delete(superuser, booking):
    client = _client(superuser)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{booking.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Booking.objects.filter(pk=booking.pk).exists()


def test_changelist_query_count_does_not_grow_with_rows(superuser, booking, facility, zone, driver, window):
    client = _client(superuser)
    with CaptureQueriesContext(connection) as few:
        assert client.get(CHANGELIST).status_code == 200
    _book_more(facility, zone, driver, window, 5)
    with CaptureQueriesContext(connection) as many:
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 6
    assert len(many) == len(few)


def test_outbox_retry_action_requeues_given_up_messages(
    superuser, booking, monkeypatch, django_capture_on_commit_callbacks
):
    message = OutboxMessage.objects.get(booking=booking, kind=OutboxKind.BOOKING_CONFIRMED)
    sent_at = message.sent_at
    failed = OutboxMessage.objects.create(
        kind=OutboxKind.BOOKING_REMINDER, booking=booking, to_email="driver@example.com", attempts=6
    )
    kicked: list[int] = []
    monkeypatch.setattr("bookings.outbox._kick", kicked.append)
    client = _client(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/bookings/outboxmessage/",
            {"action": "retry", "_selected_action": [str(message.pk), str(failed.pk)]},
            follow=True,
        )
    assert "1 message(s) queued again." in _messages(response)
    failed.refresh_from_db()
    message.refresh_from_db()
    assert failed.attempts == 0
    assert message.sent_at == sent_at  # a sent message is never resent
    assert kicked == [failed.pk]
