"""Owner payouts: holdback, minimum, one transfer however often the job runs, refunds after a payout
reduce the next one, failed transfers retried with the same payout; earnings figures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services as booking_services
from payments import ledger, payouts, services
from payments.models import Payout, PayoutAccount, PayoutItem, PayoutStatus, RefundReason
from payments.providers.base import ProviderUnavailableError
from payments.providers.sandbox import SandboxProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(org_a):
    return PayoutAccount.objects.create(
        organization=org_a, provider="sandbox", account_id="acct_demo", holdback_hours=24, minimum_amount=1000
    )


@pytest.fixture
def paid(booking, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        return services.payment_sandbox_confirm(payment=payment)


@pytest.fixture
def transfers(monkeypatch):
    calls: list[str] = []
    original = SandboxProvider.transfer

    def counting(self, *, payout):
        calls.append(str(payout.pk))
        return original(self, payout=payout)

    monkeypatch.setattr(SandboxProvider, "transfer", counting)
    return calls


def test_nothing_is_paid_before_the_holdback(account, paid, booking, transfers):
    assert payouts.payouts_run(now=booking.end + timedelta(hours=23)) == 0
    assert transfers == []
    assert Payout.objects.count() == 0


def test_payout_after_holdback_runs_once(account, paid, booking, transfers):
    after = booking.end + timedelta(hours=25)
    assert payouts.payouts_run(now=after) == 1
    assert payouts.payouts_run(now=after) == 0
    assert payouts.payouts_run(now=after + timedelta(days=1)) == 0
    payout = Payout.objects.get()
    assert (payout.amount, payout.status, payout.transfer_id) == (
        4000,
        PayoutStatus.PAID,
        f"sandbox_transfer_{payout.pk.hex}",
    )
    assert transfers == [str(payout.pk)]
    assert ledger.owed_to(account.organization_id, "USD") == 0
    assert PayoutItem.objects.filter(payout=payout).count() == 1


def test_refund_after_payout_reduces_the_next_one(
    account, paid, booking, driver, desk, transfers, django_capture_on_commit_callbacks
):
    payouts.payouts_run(now=booking.end + timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_request(payment_id=paid.pk, actor=desk, amount=445, reason=RefundReason.GOODWILL)
    assert ledger.owed_to(account.organization_id, "USD") == -400  # the owner's share of 445 (45 is fees)

    # A new booking's 4000 becomes payable: the next payout is 4000 − 400.
    start = booking.end + timedelta(days=3)
    second = booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver,
            vehicle=booking.vehicle,
            facility=booking.facility,
            spot=booking.spot,
            start=start,
            end=start + timedelta(hours=4),
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment, _ = services.payment_create(booking=second, driver=driver, provider_name="sandbox")
        services.payment_sandbox_confirm(payment=payment)
    assert payouts.payouts_run(now=second.end + timedelta(hours=25)) == 1
    assert list(Payout.objects.order_by("created_at").values_list("amount", flat=True)) == [4000, 3600]
    assert ledger.owed_to(account.organization_id, "USD") == 0


def test_below_minimum_waits(account, paid, booking, transfers):
    account.minimum_amount = 5000
    account.save(update_fields=["minimum_amount"])
    assert payouts.payouts_run(now=booking.end + timedelta(hours=25)) == 0
    assert Payout.objects.count() == 0


def test_failed_transfer_is_retried_with_the_same_payout(account, paid, booking, monkeypatch):
    keys: list[str] = []

    def down(self, *, payout):
        keys.append(f"payout-{payout.pk}")
        raise ProviderUnavailableError("timeout")

    monkeypatch.setattr(SandboxProvider, "transfer", down)
    after = booking.end + timedelta(hours=25)
    assert payouts.payouts_run(now=after) == 0
    payout = Payout.objects.get()
    assert (payout.status, payout.attempts) == (PayoutStatus.FAILED, 1)
    assert ledger.owed_to(account.organization_id, "USD") == 4000

    monkeypatch.undo()
    assert payouts.payouts_run(now=after) == 1
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID
    assert Payout.objects.count() == 1
    assert keys == [f"payout-{payout.pk}"]
    assert ledger.owed_to(account.organization_id, "USD") == 0


def test_earnings_figures(account, paid, booking, desk, org_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_request(payment_id=paid.pk, actor=desk, amount=1000, reason=RefundReason.GOODWILL)
    now = timezone.now()
    figures = payouts.earnings_for(
        organization_id=org_a.pk, currency="USD", start=now - timedelta(days=1), end=now + timedelta(minutes=1)
    )
    assert (figures.gross, figures.fees, figures.refunds, figures.net) == (4450, 450, 1000, 4000 - 899)
    assert figures.pending == 4000 - 899
    assert figures.next_payout_amount == 0  # the stay has not ended + holdback yet
    assert figures.next_payout_after is not None
