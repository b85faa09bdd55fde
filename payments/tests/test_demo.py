import io

import pytest
from django.core.management import call_command

from payments import ledger
from payments.models import LedgerEntry, Payment, PaymentStatus, PayoutAccount

pytestmark = pytest.mark.django_db


def test_demo_money_is_seeded_once_and_balances():
    call_command("seed_demo", stdout=io.StringIO())
    payments = list(Payment.objects.values_list("provider", "status", "booking__status"))
    call_command("seed_demo", stdout=io.StringIO())

    assert sorted(payments) == sorted(Payment.objects.values_list("provider", "status", "booking__status"))
    assert {(provider, status) for provider, status, _ in payments} == {("cash", PaymentStatus.SUCCEEDED)}
    assert {booking_status for *_, booking_status in payments} == {"confirmed", "checked_in", "completed"}
    account = PayoutAccount.objects.get(organization__slug="citypark")
    assert account.provider == "sandbox"
    # Cash stays with the organization: it owes the platform the fees of every cash payment.
    fees = sum(Payment.objects.values_list("platform_amount", flat=True))
    assert ledger.owed_to(account.organization_id, "USD") == -fees
    assert sum(LedgerEntry.objects.values_list("amount", flat=True)) == 0
