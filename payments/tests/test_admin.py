"""Back office for payments: tenant scoping, the approve action through the service, payout retry."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from payments import ledger, services
from payments.models import LedgerEntry, Payment, PayoutAccount, Refund, RefundReason, RefundStatus

pytestmark = pytest.mark.django_db


def _back_office(org, email, role=Role.STAFF):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="payments"))
    MembershipFactory(user=user, organization=org, role=role)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def paid(booking, driver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment, _ = services.payment_create(booking=booking, driver=driver, provider_name="sandbox")
        return services.payment_sandbox_confirm(payment=payment)


def test_other_organizations_staff_see_no_money(org_b, paid):
    _, client = _back_office(org_b, "desk-b@example.com")
    for model in ("payment", "refund", "ledgerentry", "payout"):
        response = client.get(f"/admin/payments/{model}/")
        assert response.status_code == 200, model
        assert response.context["cl"].result_count == 0, model
    assert client.get(f"/admin/payments/payment/{paid.pk}/change/").status_code == 302
    assert client.get("/admin/payments/webhookevent/").context["cl"].result_count == 0


def test_approve_action_uses_the_service_and_needs_a_second_person(org_a, paid, django_capture_on_commit_callbacks):
    PayoutAccount.objects.create(organization=org_a, refund_approval_threshold=100)
    asker, asker_client = _back_office(org_a, "asker@example.com")
    _, approver_client = _back_office(org_a, "approver@example.com", role=Role.MANAGER)
    refund = services.refund_request(payment_id=paid.pk, actor=asker, amount=1000, reason=RefundReason.GOODWILL)
    assert asker_client.get("/admin/payments/payment/").context["cl"].result_count == 1

    asker_client.post("/admin/payments/refund/", {"action": "approve", "_selected_action": [str(refund.pk)]})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING_APPROVAL

    with django_capture_on_commit_callbacks(execute=True):
        approver_client.post("/admin/payments/refund/", {"action": "approve", "_selected_action": [str(refund.pk)]})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


def test_owner_payable_equals_owner_shares_minus_refunded_owner_shares(paid, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_request(payment_id=paid.pk, actor=desk, amount=777, reason=RefundReason.DISPUTE)
    owner_paid = sum(Payment.objects.filter(status="succeeded").values_list("owner_amount", flat=True))
    owner_refunded = sum(Refund.objects.filter(status="succeeded").values_list("owner_amount", flat=True))
    assert ledger.owed_to(paid.organization_id, "USD") == owner_paid - owner_refunded
    assert sum(LedgerEntry.objects.values_list("amount", flat=True)) == 0
