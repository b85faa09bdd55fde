"""Two confirmations racing for the last redemption: exactly one wins (checked with SQL)."""

import threading

import pytest
from django.db import connection, connections

from accounts.tests.factories import UserFactory
from pricing import services
from pricing.exceptions import DiscountExhaustedError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_last_redemption_goes_to_exactly_one(facility):
    discount = services.discount_create(
        organization_id=facility.organization_id,
        data={"code": "LAST", "kind": "fixed", "amount": 100, "max_redemptions": 1},
        facilities=[],
    )
    users = [UserFactory(email=f"racer{n}@example.com") for n in range(6)]
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def redeem(user):
        try:
            barrier.wait(timeout=10)
            services.discount_redeem(discount_id=discount.pk, user=user, reference=f"REF-{user.pk}", amount=100)
            outcomes.append("won")
        except DiscountExhaustedError:
            outcomes.append("exhausted")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["exhausted"] * 5 + ["won"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT redemption_count FROM pricing_discount WHERE id = %s", [discount.pk])
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT count(*) FROM pricing_discountredemption WHERE discount_id = %s", [discount.pk])
        assert cursor.fetchone()[0] == 1


def test_redeeming_the_same_reference_twice_counts_once(facility):
    discount = services.discount_create(
        organization_id=facility.organization_id, data={"code": "ONCE", "kind": "percent", "percent": 10}, facilities=[]
    )
    user = UserFactory()

    first = services.discount_redeem(discount_id=discount.pk, user=user, reference="PKM-1", amount=50)
    second = services.discount_redeem(discount_id=discount.pk, user=user, reference="PKM-1", amount=50)

    assert first.pk == second.pk
    discount.refresh_from_db()
    assert discount.redemption_count == 1
