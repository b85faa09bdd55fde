"""POST /bookings/{id}/report-issue/: spot occupied → moved at once or cancelled with a full refund;
staff alerted every time; window, ownership and input checks."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from bookings import issues
from bookings import services as booking_services
from bookings.models import Booking, BookingEvent, IssueReport, StaffAlert
from parking.tests.factories import make_spot
from payments import services as payment_services
from payments.models import Refund, RefundReason
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


def _client(user):
    # Session-less force-authentication: the clock travels days ahead, past any JWT's lifetime.
    client = APIClient()
    client.force_authenticate(user)
    return client


def _url(booking):
    return f"/api/v1/bookings/{booking.pk}/report-issue/"


@pytest.fixture
def booking(driver, car, facility, spot, window):
    start, end = window
    return booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )


@pytest.fixture
def members(org_a, owner_a, staff_a):
    return {owner_a.email, staff_a.email}


def _report(client, booking, capture, kind="spot_occupied", at=None):
    with time_machine.travel(at or booking.start), capture(execute=True):
        return client.post(_url(booking), {"kind": kind, "note": "A red van is in my spot"})


def test_spot_occupied_moves_the_booking_to_a_free_compatible_spot_and_alerts_staff(
    auth_client, driver, booking, zone, members, django_capture_on_commit_callbacks
):
    spare = make_spot(zone, "A-2")
    mail.outbox.clear()

    response = _report(_client(driver), booking, django_capture_on_commit_callbacks)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "moved"
    moved = Booking.objects.get()
    assert moved.status == "confirmed"
    assert (moved.spot_id, body["booking"]["spot"]) == (spare.pk, spare.pk)
    report = IssueReport.objects.get()
    assert (report.outcome, report.from_spot_id, report.to_spot_id) == ("moved", booking.spot_id, moved.spot_id)
    assert BookingEvent.objects.filter(booking=booking, reason__contains="spot occupied").count() == 1
    assert {m.to[0] for m in mail.outbox} == members
    assert all(booking.reference in m.subject for m in mail.outbox)


def test_spot_occupied_with_nothing_free_cancels_with_a_full_refund(
    auth_client, driver, car, facility, spot, window, members, django_capture_on_commit_callbacks, sandbox_provider
):
    facility.requires_prepayment = True
    facility.free_cancellation_minutes = 24 * 60  # a driver's own late cancel would not be free
    facility.save(update_fields=["requires_prepayment", "free_cancellation_minutes"])
    start, end = window
    paid = booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment, _ = payment_services.payment_create(booking=paid, driver=driver, provider_name="sandbox")
        payment_services.payment_sandbox_confirm(payment=payment)
    mail.outbox.clear()

    response = _report(_client(driver), paid, django_capture_on_commit_callbacks)

    assert response.status_code == 201, response.json()
    assert (response.json()["outcome"], response.json()["booking"]["status"]) == ("cancelled", "cancelled")
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.status) == (4450, RefundReason.CANCELLATION, "succeeded")
    assert Booking.objects.get().refund_amount == 4450
    assert StaffAlert.objects.filter(sent_at__isnull=False).count() == len(members)


def test_other_problems_are_reported_and_nothing_changes(
    auth_client, driver, booking, members, django_capture_on_commit_callbacks
):
    response = _report(_client(driver), booking, django_capture_on_commit_callbacks, kind="access_problem")
    assert response.status_code == 201
    assert response.json()["outcome"] == "reported"
    assert Booking.objects.get().spot_id == booking.spot_id
    assert StaffAlert.objects.count() == len(members)


def test_reports_outside_the_window_for_others_or_bad_input_are_refused(
    auth_client, driver, booking, django_capture_on_commit_callbacks
):
    client = _client(driver)
    early = _report(client, booking, django_capture_on_commit_callbacks, at=booking.start - timedelta(hours=2))
    assert (early.status_code, early.json()["errors"][0]["code"]) == (409, "invalid_transition")
    stranger = _client(UserFactory(email="x@example.com"))
    assert _report(stranger, booking, django_capture_on_commit_callbacks).status_code == 404
    with time_machine.travel(booking.start):
        bad = client.post(_url(booking), {"kind": "flooded"})
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "kind")
    assert (IssueReport.objects.count(), StaffAlert.objects.count()) == (0, 0)
    assert Booking.objects.get().status == "confirmed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_drivers_reporting_at_once_never_share_the_one_free_spot(facility, zone, window, org_a):
    MembershipFactory(organization=org_a, role=Role.OWNER, user__email="boss@example.com")
    start, end = window
    taken = []
    for n in range(2):
        driver = UserFactory(email=f"rep{n}@example.com")
        car = VehicleFactory(owner=driver, vehicle_type="standard")
        taken.append(
            booking_services.booking_create(
                booking_services.BookingRequest(
                    driver=driver, vehicle=car, facility=facility, spot=make_spot(zone, f"R-{n}"), start=start, end=end
                )
            )
        )
    make_spot(zone, "FREE-1")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def report(booking: Booking) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(
                issues.booking_report_issue(
                    booking=booking, reporter=booking.driver, kind="spot_occupied", note="", at=start
                ).outcome
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=(b,)) for b in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["cancelled", "moved"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.spot_id = b.spot_id AND a.id < b.id
             AND tstzrange(a.start, a."end") && tstzrange(b.start, b."end")
             WHERE a.status IN ('pending_payment', 'confirmed', 'checked_in')
               AND b.status IN ('pending_payment', 'confirmed', 'checked_in')
            """
        )
        assert cursor.fetchone() == (0,)
