"""The enforcement jobs with controlled clocks: release_no_shows, detect_overstays, send_reminders,
overstay pricing, late arrivals after a release, job runs and schedules."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from bookings import outbox
from bookings import services as booking_services
from bookings.exceptions import SpotUnavailableError
from bookings.models import Booking, BookingEvent, OutboxKind, OutboxMessage
from enforcement import jobs
from enforcement.models import JobRun, Violation
from parking.tests.factories import make_spot
from payments.models import Payment, PaymentPurpose, Refund, RefundReason

from .conftest import book

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)


@pytest.fixture
def confirmed(driver, car, facility, spot, window):
    """Confirmed without payment (the facility lets drivers pay on exit): 4 h, parking 4000."""
    start, end = window
    return book(driver, car, facility, spot, start, end)


@pytest.fixture
def parked(confirmed):
    return booking_services.booking_check_in(booking_id=confirmed.pk, actor=None, at=confirmed.start)


# ---------------------------------------------------------------------------- release_no_shows


def test_no_show_exactly_at_the_grace_is_kept_one_second_later_released_with_the_fee_once(
    confirmed, facility, django_capture_on_commit_callbacks
):
    facility.no_show_fee_percent = 50
    facility.save(update_fields=["no_show_fee_percent"])
    deadline = confirmed.start + timedelta(minutes=facility.reservation_grace_minutes)

    assert jobs.release_no_shows(now=deadline) == {"released": 0, "failed": 0}
    assert Booking.objects.get().status == "confirmed"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.release_no_shows(now=deadline + SECOND) == {"released": 1, "failed": 0}
    booking = Booking.objects.get()
    assert (booking.status, booking.no_show_fee) == ("no_show", 2000)
    fee = Payment.objects.get()
    assert (fee.purpose, fee.amount, fee.owner_amount, fee.booking_id) == (
        PaymentPurpose.NO_SHOW_FEE,
        2000,
        2000,
        booking.pk,
    )
    [email] = mail.outbox
    assert "did not arrive" in email.body

    assert jobs.release_no_shows(now=deadline + timedelta(hours=1)) == {
        "released": 0,
        "failed": 0,
    }  # second run: no effect
    assert Payment.objects.count() == 1
    assert OutboxMessage.objects.filter(kind=OutboxKind.NO_SHOW).count() == 1
    assert BookingEvent.objects.filter(to_status="no_show").count() == 1


def test_prepaid_no_show_keeps_the_fee_and_refunds_the_rest_of_the_parking_amount(prepaid_booking, facility):
    facility.no_show_fee_percent = 25
    facility.save(update_fields=["no_show_fee_percent"])
    late = prepaid_booking.start + timedelta(minutes=facility.reservation_grace_minutes) + SECOND

    assert jobs.release_no_shows(now=late) == {"released": 1, "failed": 0}
    assert jobs.release_no_shows(now=late) == {"released": 0, "failed": 0}

    refund = Refund.objects.get()
    # parking 4000, fee 25 % = 1000 kept; the platform's 450 of fees are kept too.
    assert (refund.reason, refund.amount, refund.owner_amount, refund.platform_amount) == (
        RefundReason.NO_SHOW_ADJUSTMENT,
        3000,
        3000,
        0,
    )
    assert Payment.objects.filter(purpose=PaymentPurpose.NO_SHOW_FEE).count() == 0


def test_one_failing_booking_does_not_stop_the_batch(confirmed, facility, zone, driver, car, window, monkeypatch):
    second = book(driver, car, facility, make_spot(zone, "A-5"), *window)
    real = booking_services.booking_mark_no_show

    def flaky(*, booking_id, at):
        if booking_id == confirmed.pk:
            raise RuntimeError("boom")
        return real(booking_id=booking_id, at=at)

    monkeypatch.setattr(booking_services, "booking_mark_no_show", flaky)
    late = confirmed.start + timedelta(minutes=facility.reservation_grace_minutes) + SECOND

    assert jobs.release_no_shows(now=late) == {"released": 1, "failed": 1}
    assert dict(Booking.objects.values_list("pk", "status")) == {confirmed.pk: "confirmed", second.pk: "no_show"}
    assert Payment.objects.filter(booking=confirmed).count() == 0


def test_late_driver_gets_the_booking_back_on_the_same_spot_when_it_is_free(auth_client, confirmed, driver, facility):
    late = confirmed.start + timedelta(minutes=facility.reservation_grace_minutes) + SECOND
    jobs.release_no_shows(now=late)
    arrival = confirmed.start + timedelta(hours=1)

    booking = booking_services.booking_check_in(booking_id=confirmed.pk, actor=driver, at=arrival)

    assert (booking.status, booking.spot_id, booking.start, booking.checked_in_at) == (
        "checked_in",
        confirmed.spot_id,
        arrival,
        arrival,
    )


def test_late_driver_is_moved_when_the_spot_was_taken_and_refused_when_nothing_is_free(
    auth_client, confirmed, driver, facility, zone, window
):
    from accounts.tests.factories import UserFactory
    from vehicles.tests.factories import VehicleFactory

    jobs.release_no_shows(now=confirmed.start + timedelta(minutes=facility.reservation_grace_minutes) + SECOND)
    other = UserFactory(email="other@example.com")
    other_car = VehicleFactory(owner=other, vehicle_type="standard")
    book(other, other_car, facility, confirmed.spot, confirmed.start + timedelta(minutes=30), confirmed.end)
    arrival = confirmed.start + timedelta(hours=1)

    # the released spot is taken now and no other spot exists: 409, the booking stays released
    with pytest.raises(SpotUnavailableError):
        booking_services.booking_check_in(booking_id=confirmed.pk, actor=driver, at=arrival)
    assert Booking.objects.get(pk=confirmed.pk).status == "no_show"

    spare = make_spot(zone, "A-2")
    booking = booking_services.booking_check_in(booking_id=confirmed.pk, actor=driver, at=arrival)
    assert (booking.status, booking.spot_id) == ("checked_in", spare.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_workers_release_each_no_show_exactly_once(facility, zone, window):
    import threading

    from django.db import connection, connections

    from accounts.tests.factories import UserFactory
    from vehicles.tests.factories import VehicleFactory

    start, end = window
    for n in range(8):
        driver = UserFactory(email=f"ns{n}@example.com")
        book(
            driver,
            VehicleFactory(owner=driver, vehicle_type="standard"),
            facility,
            make_spot(zone, f"N-{n}"),
            start,
            end,
        )
    late = start + timedelta(minutes=facility.reservation_grace_minutes) + SECOND
    barrier = threading.Barrier(2)
    released: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            while (count := jobs.release_no_shows(now=late, batch_size=1)["released"]) > 0:
                released.append(count)
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
    assert sum(released) == 8
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.id,
                   (SELECT count(*) FROM bookings_bookingevent e WHERE e.booking_id = b.id AND e.to_status = 'no_show'),
                   (SELECT count(*) FROM payments_payment p WHERE p.booking_id = b.id AND p.purpose = 'no_show_fee')
            FROM bookings_booking b
            """
        )
        rows = cursor.fetchall()
    assert len(rows) == 8
    assert {(events, fees) for _, events, fees in rows} == {(1, 1)}


# ---------------------------------------------------------------------------- detect_overstays


def test_overstay_notified_once_after_the_grace_and_a_violation_once_past_the_limit(
    parked, facility, policy, driver, django_capture_on_commit_callbacks
):
    grace_end = parked.end + timedelta(minutes=facility.overstay_grace_minutes)
    limit = grace_end + timedelta(minutes=policy.overstay_violation_after_minutes)

    assert jobs.detect_overstays(now=grace_end) == {"notified": 0, "violations": 0, "failed": 0}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.detect_overstays(now=grace_end + SECOND) == {"notified": 1, "violations": 0, "failed": 0}
    assert "Your parking time is over." in mail.outbox[0].body
    assert jobs.detect_overstays(now=grace_end + SECOND) == {"notified": 0, "violations": 0, "failed": 0}
    assert jobs.detect_overstays(now=limit) == {"notified": 0, "violations": 0, "failed": 0}

    assert jobs.detect_overstays(now=limit + SECOND) == {"notified": 0, "violations": 1, "failed": 0}
    assert jobs.detect_overstays(now=limit + timedelta(hours=3)) == {"notified": 0, "violations": 0, "failed": 0}
    violation = Violation.objects.get()
    assert (violation.kind, violation.booking_id, violation.driver, violation.fine_amount, violation.status) == (
        "overstay",
        parked.pk,
        driver,
        2500,
        "notified",
    )
    assert violation.plate == parked.plate
    assert OutboxMessage.objects.filter(kind=OutboxKind.OVERSTAY).count() == 1


def test_overstay_without_a_policy_limit_only_notifies(parked, facility):
    after = parked.end + timedelta(days=2)
    assert jobs.detect_overstays(now=after) == {"notified": 1, "violations": 0, "failed": 0}
    assert Violation.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_workers_detect_an_overstay_once(parked, policy):
    import threading

    from django.db import connection, connections

    now = parked.end + timedelta(hours=5)
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(jobs.detect_overstays(now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(r["notified"] for r in results) == 1
    assert sum(r["violations"] for r in results) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM enforcement_violation WHERE booking_id = %s", [parked.pk])
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM bookings_outboxmessage WHERE kind = 'overstay'")
        assert cursor.fetchone() == (1,)


@pytest.mark.parametrize(
    ("stay", "with_policy", "expected"),
    [
        (timedelta(minutes=15), True, 0),  # within the grace: nothing, not even the admin fee
        (timedelta(hours=3), True, 3000 + 700),  # 3 started hours at 1000, under the cap, + admin fee
        (timedelta(hours=10), True, 5000 + 700),  # capped at 5000 for the first day
        (timedelta(hours=30), True, 10000 + 700),  # two started days: cap 2 × 5000
        (timedelta(hours=10), False, 10000),  # no penalty policy: the plain rate
    ],
)
def test_overstay_pricing_with_the_daily_cap_and_admin_fee(parked, facility, stay, with_policy, expected):
    facility.overstay_rate_per_hour = 1000
    facility.save(update_fields=["overstay_rate_per_hour"])
    if with_policy:
        from enforcement.models import PenaltyPolicy

        PenaltyPolicy.objects.create(facility=facility, overstay_daily_cap=5000, overstay_admin_fee=700)

    done = booking_services.booking_check_out(booking_id=parked.pk, actor=None, at=parked.end + stay)

    assert done.overstay_amount == expected


# ---------------------------------------------------------------------------- reminders, runs, schedules


def test_reminder_before_the_end_once_for_parked_cars_only(
    parked, confirmed, settings, django_capture_on_commit_callbacks
):
    settings.BOOKING_ENDING_REMINDER_MINUTES = 30
    assert outbox.outbox_queue_reminders(now=parked.end - timedelta(minutes=31)) == 0
    mail.outbox.clear()
    assert outbox.outbox_queue_reminders(now=parked.end - timedelta(minutes=29)) == 1
    assert outbox.outbox_queue_reminders(now=parked.end - timedelta(minutes=1)) == 0
    [email] = mail.outbox
    assert "ends soon" in email.subject
    assert list(OutboxMessage.objects.filter(kind=OutboxKind.BOOKING_ENDING).values_list("booking_id", flat=True)) == [
        parked.pk
    ]


def test_run_job_by_short_name_records_a_job_run_and_exports_counts(confirmed):
    from prometheus_client import REGISTRY

    labels = {"job": "enforcement.release_no_shows", "outcome": "success"}
    before = REGISTRY.get_sample_value("job_runs_total", labels) or 0
    call_command("run_job", "release_no_shows")
    assert REGISTRY.get_sample_value("job_runs_total", labels) == before + 1
    run = JobRun.objects.get()
    assert (run.job, run.succeeded, run.result, run.error) == (
        "enforcement.release_no_shows",
        True,
        {"released": 0, "failed": 0},
        "",
    )
    assert run.finished_at >= run.started_at


def test_a_failing_job_is_recorded_as_failed(monkeypatch):
    def broken(**_kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(jobs, "detect_overstays", broken)
    with pytest.raises(CommandError):
        call_command("run_job", "enforcement: detect overstays")
    run = JobRun.objects.get()
    assert (run.job, run.succeeded) == ("enforcement.detect_overstays", False)
    assert "database on fire" in run.error


def test_schedules_are_created_in_code():
    expected = {
        "enforcement: release no-shows": ("enforcement.release_no_shows", 5, "minutes"),
        "enforcement: detect overstays": ("enforcement.detect_overstays", 5, "minutes"),
        "enforcement: send violation notices": ("enforcement.notices_dispatch", 1, "minutes"),
        "cleanup": ("enforcement.cleanup", 1, "days"),
        "bookings: send reminders": ("bookings.send_reminders", 5, "minutes"),
        "bookings: expire unpaid holds": ("bookings.expire_unpaid_holds", 1, "minutes"),
    }
    for name, (task, every, period) in expected.items():
        scheduled = PeriodicTask.objects.get(name=name)
        assert (scheduled.task, scheduled.interval.every, scheduled.interval.period) == (task, every, period), name
    assert not PeriodicTask.objects.filter(name="bookings: queue reminders").exists()
