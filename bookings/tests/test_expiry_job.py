"""expire_unpaid_holds at its boundary and with two workers at once (each hold expired once, by SQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.models import Booking
from parking.tests.factories import make_spot
from vehicles.tests.factories import VehicleFactory

SECOND = timedelta(seconds=1)


def _hold(facility, zone, window, n):
    driver = UserFactory(email=f"hold{n}@example.com")
    start, end = window
    return services.booking_create(
        services.BookingRequest(
            driver=driver,
            vehicle=VehicleFactory(owner=driver, vehicle_type="standard"),
            facility=facility,
            spot=make_spot(zone, f"H-{n}"),
            start=start,
            end=end,
        )
    )


@pytest.fixture
def prepaid(facility):
    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    return facility


@pytest.mark.django_db
def test_a_hold_expires_exactly_at_its_expiry_not_a_second_before(prepaid, zone, window):
    hold = _hold(prepaid, zone, window, 0)
    assert hold.status == "pending_payment"

    assert services.bookings_expire_unpaid(now=hold.hold_expires_at - SECOND) == 0
    assert services.bookings_expire_unpaid(now=hold.hold_expires_at) == 1
    assert services.bookings_expire_unpaid(now=hold.hold_expires_at + timedelta(hours=1)) == 0
    assert Booking.objects.get().status == "expired"


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_workers_expire_each_hold_exactly_once(prepaid, zone, window):
    holds = [_hold(prepaid, zone, window, n) for n in range(8)]
    later = max(h.hold_expires_at for h in holds) + SECOND
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            while (count := services.bookings_expire_unpaid(now=later, batch_size=1)) > 0:
                counts.append(count)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(counts) == 8
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.status, (SELECT count(*) FROM bookings_bookingevent e
                               WHERE e.booking_id = b.id AND e.to_status = 'expired')
            FROM bookings_booking b
            """
        )
        assert sorted(cursor.fetchall()) == [("expired", 1)] * 8
