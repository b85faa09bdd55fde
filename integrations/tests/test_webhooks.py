"""Outgoing webhooks: endpoint management and permissions, deliveries from domain events written with
the change, signatures a receiver can verify, retries with back-off, no duplicates, SSRF guard."""

import json
import threading
from datetime import timedelta

import pytest
import requests
import responses
from django.db import connection, connections
from django.utils import timezone

from bookings import services as booking_services
from integrations import services
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.signing import signature_verify

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/parking"


@pytest.fixture(autouse=True)
def allow_test_hosts(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # no DNS here; the guard has its own test


def _base(org):
    return f"/api/v1/organizations/{org.pk}/webhooks/"


@pytest.fixture
def endpoint(org_a, owner_a):
    return services.endpoint_create(
        organization=org_a, actor=owner_a, data={"url": URL, "event_types": ["booking.created", "booking.updated"]}
    )


def _book(driver, car, facility, spot, window, capture):
    start, end = window
    with capture(execute=False) as callbacks:
        booking = booking_services.booking_create(
            booking_services.BookingRequest(
                driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end
            )
        )
    return booking, callbacks


def test_owners_manage_endpoints_others_cannot(auth_client, org_a, owner_a, staff_a, owner_b):
    client = auth_client(owner_a)
    created = client.post(_base(org_a), {"url": URL, "event_types": ["booking.created"], "description": "ERP"})
    assert created.status_code == 201, created.json()
    assert created.json()["secret"].startswith("whsec_")
    assert "secret" not in client.get(_base(org_a)).json()["results"][0]
    for body, attr in (
        ({"url": "http://hooks.example.com/x", "event_types": ["booking.created"]}, "url"),
        ({"url": URL, "event_types": ["booking.exploded"]}, "event_types.0"),
        ({"url": URL, "event_types": []}, "event_types"),
    ):
        refused = client.post(_base(org_a), body)
        assert (refused.status_code, refused.json()["errors"][0]["attr"]) == (400, attr)
    assert auth_client(staff_a).post(_base(org_a), {"url": URL, "event_types": ["booking.created"]}).status_code == 403
    assert auth_client(owner_b).get(_base(org_a)).status_code == 404
    endpoint_id = created.json()["id"]
    rotated = client.post(f"{_base(org_a)}{endpoint_id}/rotate-secret/")
    assert rotated.json()["secret"] != created.json()["secret"]
    assert client.patch(f"{_base(org_a)}{endpoint_id}/", {"is_active": False}).json()["is_active"] is False
    assert WebhookEndpoint.objects.count() == 1


def test_a_booking_creates_one_signed_delivery_that_a_receiver_can_verify(
    endpoint, driver, car, facility, spot, window, django_capture_on_commit_callbacks
):
    booking, callbacks = _book(driver, car, facility, spot, window, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()  # written in the booking's transaction
    assert (delivery.event_type, delivery.status, delivery.payload["data"]["reference"]) == (
        "booking.created",
        "pending",
        booking.reference,
    )
    assert car.plate not in json.dumps(delivery.payload)

    with responses.RequestsMock() as receiver:
        receiver.post(URL, status=200)
        for callback in callbacks:
            callback()  # the commit: the send task runs
        [call] = receiver.calls
    body = call.request.body
    assert signature_verify(secret=endpoint.secret, header=call.request.headers["X-Webhook-Signature"], body=body)
    assert not signature_verify(secret="whsec_wrong", header=call.request.headers["X-Webhook-Signature"], body=body)
    assert call.request.headers["X-Webhook-Id"] == delivery.event_id
    assert json.loads(body)["id"] == delivery.event_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert services.delivery_send(delivery.pk) is False  # never sent twice


def test_failures_are_retried_with_back_off_then_given_up_and_retried_by_hand(
    auth_client, owner_a, org_a, endpoint, driver, car, facility, spot, window, django_capture_on_commit_callbacks
):
    _book(driver, car, facility, spot, window, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    with responses.RequestsMock() as receiver:
        receiver.post(URL, status=500)
        assert services.delivery_send(delivery.pk, now=now) is False
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            "pending",
            1,
            now + timedelta(minutes=1),
        )
        assert services.deliveries_dispatch(now=now + timedelta(seconds=59)) == {"due": 0, "succeeded": 0}
        receiver.replace(responses.POST, URL, status=200)
        assert services.deliveries_dispatch(now=now + timedelta(minutes=1)) == {"due": 1, "succeeded": 1}
        assert len(receiver.calls) == 2
    assert list(WebhookAttempt.objects.order_by("id").values_list("status_code", flat=True)) == [500, 200]

    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", attempts=services.MAX_ATTEMPTS - 1)
    with responses.RequestsMock() as receiver:
        receiver.post(URL, body=requests.exceptions.ConnectionError("refused"))
        services.delivery_send(delivery.pk, now=now + timedelta(days=1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert "refused" in delivery.last_error

    client = auth_client(owner_a)
    listed = client.get(f"{_base(org_a)}{endpoint.pk}/deliveries/").json()["results"]
    assert [len(row["attempt_log"]) for row in listed] == [3]
    retried = client.post(f"{_base(org_a)}{endpoint.pk}/deliveries/{delivery.pk}/retry/")
    assert (retried.status_code, retried.json()["status"], retried.json()["attempts"]) == (200, "pending", 0)


def test_only_subscribed_events_of_the_organization_are_delivered(
    org_a, owner_a, org_b, owner_b, driver, car, facility, spot, window, django_capture_on_commit_callbacks
):
    services.endpoint_create(organization=org_a, actor=owner_a, data={"url": URL, "event_types": ["review.created"]})
    services.endpoint_create(organization=org_b, actor=owner_b, data={"url": URL, "event_types": ["booking.created"]})
    _book(driver, car, facility, spot, window, django_capture_on_commit_callbacks)  # org A's facility
    assert WebhookDelivery.objects.count() == 0


def test_private_destinations_are_refused(
    settings, endpoint, monkeypatch, driver, car, facility, spot, window, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    monkeypatch.setattr(services.socket, "getaddrinfo", lambda host, port: [(2, 1, 6, "", ("10.0.0.5", 0))])
    _book(driver, car, facility, spot, window, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    with responses.RequestsMock() as receiver:  # nothing may be called
        assert services.delivery_send(delivery.pk) is False
        assert len(receiver.calls) == 0
    assert "non-public" in WebhookAttempt.objects.get().error


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_workers_send_a_delivery_once(org_a, owner_a, driver, car, facility, spot, window, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    monkeypatch.setattr(services, "_kick", lambda delivery_id: None)  # the two workers below do the sending
    services.endpoint_create(organization=org_a, actor=owner_a, data={"url": URL, "event_types": ["booking.created"]})
    start, end = window
    booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
    delivery_id = WebhookDelivery.objects.get().pk
    posts: list[str] = []
    lock = threading.Lock()

    class Answer:
        status_code = 200

    def fake_post(url, **kwargs):
        with lock:
            posts.append(url)
        return Answer()

    monkeypatch.setattr(services.requests, "post", fake_post)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(services.delivery_send(delivery_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [False, True]
    assert posts == [URL]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.status, d.attempts, (SELECT count(*) FROM integrations_webhookattempt a WHERE a.delivery_id = d.id) "
            "FROM integrations_webhookdelivery d WHERE d.id = %s",
            [delivery_id],
        )
        assert cursor.fetchone() == ("succeeded", 1, 1)
