"""A small but complete slice of the platform (every kind of back-office row at least once), built
through the services. Call ``build(n)`` with different ``n`` to add another, independent slice — the
admin smoke test compares query counts between one and two slices to catch N+1 changelists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from bookings import issues
from bookings import services as booking_services
from enforcement import services as enforcement_services
from enforcement import violations
from enforcement.models import JobRun, PenaltyPolicy
from gates import services as gate_services
from gates.models import GateAlert, GateEvent, ManualReview
from parking import services as parking_services
from parking.tests.factories import make_facility, make_spot, make_zone
from payments import services as payment_services
from payments.models import ReconciliationMismatch
from pricing import services as pricing_services
from pricing.models import FeePolicy
from reviews import services as review_services
from vehicles.tests.factories import VehicleFactory


def build(n: int) -> dict[str, Any]:
    """Slice ``n``: an organization with an owner and staff, a facility with zones/spots/block/rule,
    pass products and discounts, a completed, a paid-and-cancelled and a parked booking, payments and
    refunds, a gate with events/commands/reviews/alerts, a violation with a dispute, a review."""
    org = OrganizationFactory(name=f"Org {n}", slug=f"org-{n}")
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__email=f"owner{n}@example.com").user
    staff = MembershipFactory(organization=org, role=Role.STAFF, user__email=f"staff{n}@example.com").user
    facility = make_facility(org, name=f"Garage {n}", requires_prepayment=False)
    pricing_services.rule_create(
        facility=facility,
        data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 1000, "increment_minutes": 60}},
    )
    FeePolicy.objects.get_or_create(organization=org, defaults={"service_fee_percent": 10, "transaction_fee": 50})
    zone = make_zone(facility)
    spots = [make_spot(zone, f"S{n}-{i}") for i in range(4)]
    now = timezone.now()
    start = (now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=4)
    parking_services.block_create(
        actor=owner,
        facility=facility,
        start=end + timedelta(days=1),
        end=end + timedelta(days=2),
        reason="maintenance",
        spot=spots[3],
    )
    product = pricing_services.pass_product_create(
        facility=facility, data={"name": f"Monthly {n}", "period": "monthly", "price": 10000}
    )
    pricing_services.discount_create(
        organization_id=org.pk, data={"code": f"SAVE{n}", "kind": "percent", "percent": 10}, facilities=[facility]
    )
    driver = UserFactory(email=f"driver{n}@example.com")
    car = VehicleFactory(owner=driver, vehicle_type="standard")
    pricing_services.pass_create_pending(product=product, driver=driver, vehicle=car, start=now)

    def book(spot_index: int) -> Any:
        return booking_services.booking_create(
            booking_services.BookingRequest(
                driver=driver, vehicle=car, facility=facility, spot=spots[spot_index], start=start, end=end
            )
        )

    done = book(0)
    booking_services.booking_check_in(booking_id=done.pk, actor=staff, at=start)
    booking_services.booking_check_out(booking_id=done.pk, actor=staff, at=end + timedelta(hours=2))  # overstay fee

    facility.requires_prepayment = True
    facility.save(update_fields=["requires_prepayment"])
    paid = book(1)
    payment, _ = payment_services.payment_create(booking=paid, driver=driver, provider_name="sandbox")
    payment_services.payment_sandbox_confirm(payment=payment)
    booking_services.booking_cancel(booking_id=paid.pk, actor=driver, reason="plans changed")
    ReconciliationMismatch.objects.create(payment=payment, kind="amount", detail="test mismatch")
    facility.requires_prepayment = False
    facility.save(update_fields=["requires_prepayment"])

    parked = book(2)
    booking_services.booking_check_in(booking_id=parked.pk, actor=driver, at=start)
    issues.booking_report_issue(booking=parked, reporter=driver, kind="access_problem", note="barrier stuck", at=start)

    gate, _key = gate_services.gate_create(facility=facility, data={"name": f"Gate {n}"}, actor=owner)
    event = GateEvent.objects.create(
        gate=gate,
        organization_id=org.pk,
        facility=facility,
        event_id=f"ev-{n}",
        kind="entry",
        occurred_at=now,
        credential_type="plate",
        decision="deny",
        reason_code="unknown_plate",
        message="Not found",
        booking=parked,
    )
    ManualReview.objects.create(event=event, reason="low_confidence")
    GateAlert.objects.create(gate=gate, started_at=now)
    gate_services.gate_command_issue(gate=gate, kind="open", actor=owner, reason="stuck")

    PenaltyPolicy.objects.create(facility=facility, fines={"unauthorized": 5000})
    check = enforcement_services.enforcement_check(actor=staff, facility=facility, plate=car.plate).check
    violation = violations.violation_issue(actor=staff, facility=facility, kind="unauthorized", check=check, notes="x")
    violations.dispute_open(violation=violation, driver=driver, reason="I had a pass")
    JobRun.objects.create(job="enforcement.release_no_shows", started_at=now, finished_at=now, succeeded=True)

    review = review_services.review_create(author=driver, booking_id=done.pk, rating=4, at=end)
    review_services.response_create(review=review, actor=owner, body="Thanks")
    return {"org": org, "owner": owner, "staff": staff, "facility": facility, "driver": driver}
