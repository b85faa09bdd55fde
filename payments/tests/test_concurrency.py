"""Money under real concurrency (threads with their own connections), verified with SQL."""

import threading

import pytest
from django.db import connection, connections

from payments import services
from payments.models import RefundReason

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def _in_threads(count: int, work) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            result = work(n)
        except Exception as exc:  # noqa: BLE001 - every outcome is reported to the assertion
            result = f"{getattr(exc, 'code', type(exc).__name__)}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _sql(query: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


@pytest.fixture
def paid(booking, driver):
    payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    return services.payment_sandbox_confirm(payment=payment)


def test_twenty_concurrent_refunds_never_exceed_the_payment(paid, desk):
    outcomes = _in_threads(
        20,
        lambda n: str(
            services.refund_request(payment_id=paid.pk, actor=desk, amount=300, reason=RefundReason.GOODWILL).amount
        ),
    )

    assert sorted(outcomes) == ["300"] * 14 + ["refund_exceeds_refundable"] * 6, outcomes
    refunded, reserved, amount = _sql(
        "SELECT (SELECT sum(amount) FROM payments_refund WHERE payment_id = p.id), p.refunded_amount, p.amount "
        "FROM payments_payment p WHERE p.id = %s",
        [paid.pk],
    )
    assert (refunded, reserved, amount) == (4200, 4200, 4450)


def test_concurrent_refund_requests_with_one_idempotency_key_make_one_refund(paid, desk):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    token = str(AccessToken.for_user(desk))

    def post(n: int) -> str:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY="one-refund")
        response = client.post(
            f"/api/v1/payments/{paid.pk}/refund/", {"amount": 500, "reason": "goodwill"}, format="json"
        )
        return f"{response.status_code} {response.json().get('id', '')}"

    outcomes = _in_threads(8, post)

    assert {outcome.split()[0] for outcome in outcomes} <= {"201", "409"}
    assert len({outcome.split()[1] for outcome in outcomes if outcome.startswith("201")}) == 1
    (count,) = _sql("SELECT count(*) FROM payments_refund WHERE payment_id = %s", [paid.pk])
    assert count == 1
