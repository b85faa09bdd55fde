"""Payment alerts: failure rate above the threshold and reconciliation mismatches are opened once,
emailed once to owners and managers, shown on the dashboard, and closed when the cause is gone."""

import pytest
from django.core import mail
from django.utils import timezone

from payments.alerts import alerts_check
from payments.models import Payment, PaymentAlert, ReconciliationMismatch

pytestmark = pytest.mark.django_db


def _payments(org, succeeded, failed):
    for status, count in (("succeeded", succeeded), ("failed", failed)):
        for _ in range(count):
            Payment.objects.create(
                organization=org,
                amount=100,
                owner_amount=100,
                platform_amount=0,
                currency="USD",
                provider="cash",
                status=status,
            )


def test_failure_rate_alert_opens_once_emails_managers_and_closes(settings, org_a, owner_a, manager_a, staff_a, org_b):
    settings.PAYMENT_FAILURE_ALERT_RATE = 0.25
    settings.PAYMENT_FAILURE_ALERT_MIN_PAYMENTS = 10
    _payments(org_a, succeeded=7, failed=3)  # 30 %
    _payments(org_b, succeeded=2, failed=3)  # 60 % but too few to judge
    mail.outbox.clear()

    assert alerts_check() == {"opened": 1, "closed": 0, "emailed": 1}
    assert alerts_check() == {"opened": 0, "closed": 0, "emailed": 0}  # a second run changes nothing
    alert = PaymentAlert.objects.get()
    assert (alert.organization_id, alert.kind, alert.detail) == (
        org_a.pk,
        "failure_rate",
        "3 of 10 payments failed in the last hour (30%).",
    )
    [email] = mail.outbox
    assert sorted(email.to) == sorted([owner_a.email, manager_a.email])

    Payment.objects.filter(organization=org_a, status="failed").update(
        updated_at=timezone.now() - timezone.timedelta(hours=2)
    )
    assert alerts_check()["closed"] == 1
    assert PaymentAlert.objects.get().closed_at is not None


def test_mismatch_alert_follows_the_mismatch(org_a, owner_a):
    _payments(org_a, succeeded=1, failed=0)
    mismatch = ReconciliationMismatch.objects.create(payment=Payment.objects.get(), kind="amount", detail="got 90")
    mail.outbox.clear()
    assert alerts_check()["opened"] == 1
    assert "got 90" in mail.outbox[0].body
    assert alerts_check()["opened"] == 0
    ReconciliationMismatch.objects.filter(pk=mismatch.pk).update(resolved_at=timezone.now())
    assert alerts_check()["closed"] == 1


def test_open_alerts_are_on_the_dashboard(client, admin_user, org_a):
    PaymentAlert.objects.create(
        organization=org_a, kind="failure_rate", detail="5 of 10 failed", opened_at=timezone.now()
    )
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert [alert.detail for alert in response.context["dashboard"]["payment_alerts"]] == ["5 of 10 failed"]
    assert b"5 of 10 failed" in response.content
