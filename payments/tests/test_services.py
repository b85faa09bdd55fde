"""Payment flows through the services with the sandbox and cash providers: confirmation, ledger,
refunds and their split, approval, booking events, the expired-hold auto refund."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection

from accounts.models import AuditLogEntry
from app.exceptions import ApplicationError
from bookings import services as booking_services
from bookings.models import BookingStatus
from payments import ledger, services
from payments.models import (
    LedgerAccount,
    LedgerEntry,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    PayoutAccount,
    Refund,
    RefundReason,
    RefundStatus,
)
from payments.providers.base import ProviderNotConfiguredError, ProviderPayment

pytestmark = pytest.mark.django_db


def _pay(booking, driver, capture):
    with capture(execute=True):
        payment, client = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        payment = services.payment_sandbox_confirm(payment=payment)
    return payment, client


def _unbalanced_transactions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT transaction_id FROM payments_ledgerentry GROUP BY transaction_id "
            "HAVING sum(amount) <> 0) t"
        )
        return int(cursor.fetchone()[0])


def _balance(account, organization_id=None) -> int:
    rows = LedgerEntry.objects.filter(account=account)
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    return sum(rows.values_list("amount", flat=True))


def test_sandbox_payment_confirms_the_booking_and_posts_the_split(booking, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment, client = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    assert client["confirm_url"] == f"/api/v1/payments/{payment.pk}/sandbox-confirm/"
    assert (payment.status, payment.amount, payment.owner_amount, payment.platform_amount) == (
        PaymentStatus.REQUIRES_ACTION,
        4450,
        4000,
        450,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT
    assert LedgerEntry.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        payment = services.payment_sandbox_confirm(payment=payment)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _balance(LedgerAccount.PROVIDER_CLEARING) == 4450
    assert _balance(LedgerAccount.PLATFORM_REVENUE) == -450
    assert ledger.owed_to(booking.organization_id, "USD") == 4000
    assert _unbalanced_transactions() == 0
    receipts = [m for m in mail.outbox if m.subject.startswith("Receipt")]
    assert len(receipts) == 1
    payment.refresh_from_db()
    assert payment.receipt_sent_at is not None


def test_events_in_any_order_and_repeated_end_in_the_same_state(booking, driver, django_capture_on_commit_callbacks):
    payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    ref = payment.provider_payment_id
    for status in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING, PaymentStatus.FAILED, PaymentStatus.SUCCEEDED):
        services.payment_apply_provider_state(payment_id=payment.pk, state=ProviderPayment(ref, status))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert LedgerEntry.objects.filter(payment=payment, refund__isnull=True).count() == 3  # posted once


def test_wrong_amount_is_never_accepted_as_paid(booking, driver):
    payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    services.payment_apply_provider_state(
        payment_id=payment.pk,
        state=ProviderPayment(payment.provider_payment_id, PaymentStatus.SUCCEEDED, amount=1, currency="USD"),
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert payment.mismatches.get().kind == "amount"
    assert LedgerEntry.objects.count() == 0


def test_second_payment_when_nothing_is_due_is_409(booking, driver, django_capture_on_commit_callbacks):
    _pay(booking, driver, django_capture_on_commit_callbacks)
    with pytest.raises(services.AlreadyPaidError):
        services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    assert Payment.objects.count() == 1


def test_unconfigured_provider_is_a_clear_error_and_writes_nothing(booking, driver, settings, payment_providers):
    from payments.providers import providers_reset

    settings.PAYMENT_PROVIDERS = {**payment_providers, "sandbox": {**payment_providers["sandbox"], "config": {}}}
    providers_reset()
    with pytest.raises(ProviderNotConfiguredError) as info:
        services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    assert info.value.code == "provider_not_configured"
    assert info.value.attr == "provider"
    assert Payment.objects.count() == 0


def test_payment_after_the_hold_expired_is_refunded_automatically(booking, driver, django_capture_on_commit_callbacks):
    payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
    booking_services.bookings_expire_unpaid(now=booking.hold_expires_at + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.payment_sandbox_confirm(payment=payment)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.amount, refund.status) == (RefundReason.HOLD_EXPIRED, 4450, RefundStatus.SUCCEEDED)
    assert (refund.owner_amount, refund.platform_amount) == (4000, 450)
    assert ledger.owed_to(booking.organization_id, "USD") == 0
    assert _balance(LedgerAccount.PROVIDER_CLEARING) == 0
    assert _unbalanced_transactions() == 0
    [notice] = [m for m in mail.outbox if m.subject.startswith("Refund")]
    assert notice.to == ["driver@example.com"]
    assert notice.subject == f"Refund of $44.50 — {booking.reference}"
    assert "could no longer be held" in notice.body
    refund.refresh_from_db()
    assert refund.driver_notified_at is not None


def test_free_cancellation_refunds_everything_through_the_provider(booking, driver, django_capture_on_commit_callbacks):
    payment, _ = _pay(booking, driver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        booking_services.booking_cancel(booking_id=booking.pk, actor=driver, reason="plans changed")

    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.status, refund.reason) == (4450, RefundStatus.SUCCEEDED, RefundReason.CANCELLATION)
    assert refund.provider_refund_id == f"sandbox_refund_{refund.pk.hex}"
    payment.refresh_from_db()
    assert payment.refunded_amount == 4450
    assert _balance(LedgerAccount.PLATFORM_REVENUE) == 0
    assert ledger.owed_to(booking.organization_id, "USD") == 0


def test_late_cancellation_refund_comes_out_of_the_owner_share(
    booking, driver, facility, django_capture_on_commit_callbacks
):
    payment, _ = _pay(booking, driver, django_capture_on_commit_callbacks)
    facility.free_cancellation_minutes = 60 * 24 * 30  # "late" now
    facility.late_cancellation_fee_percent = 25
    facility.save(update_fields=["free_cancellation_minutes", "late_cancellation_fee_percent"])
    with django_capture_on_commit_callbacks(execute=True):
        _, terms = booking_services.booking_cancel(booking_id=booking.pk, actor=driver)

    refund = Refund.objects.get(payment=payment)
    assert terms.refund_amount == 3000  # 4000 parking − 25 % = 3000; the platform keeps its 450
    assert (refund.amount, refund.owner_amount, refund.platform_amount) == (3000, 3000, 0)
    assert _balance(LedgerAccount.PLATFORM_REVENUE) == -450
    assert ledger.owed_to(booking.organization_id, "USD") == 1000
    assert _unbalanced_transactions() == 0


def test_unpaid_cancellation_creates_no_refund(booking, driver):
    booking_services.booking_cancel(booking_id=booking.pk, actor=driver)
    assert Refund.objects.count() == 0


def test_refund_request_limits_and_proportional_split(booking, driver, desk, django_capture_on_commit_callbacks):
    payment, _ = _pay(booking, driver, django_capture_on_commit_callbacks)
    with pytest.raises(ApplicationError) as info:
        services.refund_request(payment_id=payment.pk, actor=desk, amount=4451, reason=RefundReason.GOODWILL)
    assert (info.value.code, info.value.attr) == ("refund_exceeds_refundable", "amount")
    assert Refund.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_request(payment_id=payment.pk, actor=desk, amount=1000, reason=RefundReason.GOODWILL)
    refund.refresh_from_db()
    # 1000 × 450 / 4450 = 101.12 → 101 to the platform, 899 from the owner
    assert (refund.status, refund.owner_amount, refund.platform_amount) == (RefundStatus.SUCCEEDED, 899, 101)
    assert AuditLogEntry.objects.filter(action="refund_requested", target_id=str(refund.pk)).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        rest = services.refund_request(payment_id=payment.pk, actor=desk, amount=None, reason=RefundReason.DISPUTE)
    rest.refresh_from_db()
    assert (rest.amount, rest.owner_amount, rest.platform_amount) == (3450, 3101, 349)
    payment.refresh_from_db()
    assert payment.refunded_amount == payment.amount
    assert ledger.owed_to(booking.organization_id, "USD") == 0
    assert _balance(LedgerAccount.PLATFORM_REVENUE) == 0


def test_refund_above_threshold_needs_a_second_member(
    booking, driver, desk, second_desk, org_a, django_capture_on_commit_callbacks
):
    PayoutAccount.objects.create(organization=org_a, refund_approval_threshold=2000)
    payment, _ = _pay(booking, driver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_request(payment_id=payment.pk, actor=desk, amount=3000, reason=RefundReason.GOODWILL)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING_APPROVAL
    assert LedgerEntry.objects.filter(refund=refund).count() == 0
    payment.refresh_from_db()
    assert payment.refunded_amount == 3000  # reserved while it waits

    with pytest.raises(ApplicationError) as info:
        services.refund_approve(refund_id=refund.pk, actor=desk)
    assert info.value.code == "same_approver"

    with django_capture_on_commit_callbacks(execute=True):
        services.refund_approve(refund_id=refund.pk, actor=second_desk)
    refund.refresh_from_db()
    assert (refund.status, refund.approved_by) == (RefundStatus.SUCCEEDED, second_desk)


def test_cash_payment_is_audited_and_the_organization_owes_the_fees(booking, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment = services.payment_record_cash(booking=booking, actor=desk)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert (payment.provider, payment.status, payment.recorded_by) == ("cash", PaymentStatus.SUCCEEDED, desk)
    assert ledger.owed_to(booking.organization_id, "USD") == -450  # the organization holds the platform's fees
    assert _balance(LedgerAccount.PROVIDER_CLEARING) == 0
    assert AuditLogEntry.objects.filter(action="cash_payment_recorded", target_id=str(payment.pk)).count() == 1
    with pytest.raises(ApplicationError) as info:
        services.payment_record_cash(booking=booking, actor=desk)
    assert info.value.code == "already_paid"


def test_early_exit_refund_at_check_out(booking, driver, facility, django_capture_on_commit_callbacks):
    payment, _ = _pay(booking, driver, django_capture_on_commit_callbacks)
    facility.early_exit_refund = "prorated"
    facility.save(update_fields=["early_exit_refund"])
    booking_services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)
    with django_capture_on_commit_callbacks(execute=True):
        done = booking_services.booking_check_out(
            booking_id=booking.pk, actor=driver, at=booking.start + timedelta(hours=1)
        )
    assert done.early_exit_refund_amount > 0
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.amount, refund.platform_amount) == (
        RefundReason.EARLY_EXIT,
        done.early_exit_refund_amount,
        0,
    )
    assert _unbalanced_transactions() == 0


def test_ledger_is_append_only_and_balanced_by_the_database(booking, driver, django_capture_on_commit_callbacks):
    from django.db import IntegrityError, ProgrammingError, transaction

    _pay(booking, driver, django_capture_on_commit_callbacks)
    entry = LedgerEntry.objects.first()
    with pytest.raises(ProgrammingError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    # An unbalanced transaction is refused when the constraint trigger fires (at commit; forced here).
    with pytest.raises(IntegrityError), transaction.atomic():  # noqa: PT012 - it fires at SET CONSTRAINTS
        LedgerEntry.objects.create(
            transaction_id=entry.transaction_id,
            account=LedgerAccount.PLATFORM_REVENUE,
            amount=-1,
            currency="USD",
            memo="forged",
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert _unbalanced_transactions() == 0


def test_an_extension_is_paid_as_a_second_payment(booking, driver, django_capture_on_commit_callbacks):
    _pay(booking, driver, django_capture_on_commit_callbacks)
    booking.refresh_from_db()
    extended, terms = booking_services.booking_extend(
        booking_id=booking.pk, actor=driver, new_end=booking.end + timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        second, _ = services.payment_create(booking=extended, driver=driver, provider_name="sandbox")
    assert (second.purpose, second.amount) == (PaymentPurpose.EXTENSION, terms.total)
    assert second.owner_amount + second.platform_amount == terms.total
    assert second.owner_amount == extended.owner_payout - 4000
