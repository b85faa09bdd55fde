"""Back-office actions added for the operator's day: move a booking to another free spot, request a
refund with a reason — both through the same services as the API."""

import pytest
from django.test import Client

from bookings import services as booking_services
from bookings.models import Booking
from parking.tests.factories import make_spot
from payments import services as payment_services
from payments.models import Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_move_action_uses_the_move_service(admin_client_, driver, car, facility, zone, spot, window):
    start, end = window
    booking = booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
    response = admin_client_.post(
        "/admin/bookings/booking/", {"action": "move_bookings", "_selected_action": [booking.pk]}
    )
    assert response.status_code == 302
    assert Booking.objects.get().spot_id == spot.pk  # nowhere to go: unchanged (and reported)
    spare = make_spot(zone, "A-2")
    admin_client_.post("/admin/bookings/booking/", {"action": "move_bookings", "_selected_action": [booking.pk]})
    assert Booking.objects.get().spot_id == spare.pk
    assert "moved in the back office" in Booking.objects.get().events.last().reason


def test_refund_action_asks_for_a_reason_then_requests_the_refund(
    admin_client_, sandbox_provider, driver, car, facility, spot, window, django_capture_on_commit_callbacks
):
    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    start, end = window
    booking = booking_services.booking_create(
        booking_services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment, _ = payment_services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        payment_services.payment_sandbox_confirm(payment=payment)
    url = "/admin/payments/payment/"
    form = admin_client_.post(url, {"action": "request_refund", "_selected_action": [payment.pk]})
    assert form.status_code == 200
    assert Refund.objects.count() == 0
    admin_client_.post(
        url, {"action": "request_refund", "_selected_action": [payment.pk], "apply": "1", "reason": "Gate broke"}
    )
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.note) == (4450, "goodwill", "Gate broke")
    page = admin_client_.get(f"/admin/bookings/booking/{booking.pk}/change/")
    assert page.status_code == 200
    assert b"4450" in page.content  # the booking page lists its payments
