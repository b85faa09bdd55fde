import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from gates.models import GateKey

pytestmark = pytest.mark.django_db


def _back_office(org, email):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="gates"))
    MembershipFactory(user=user, organization=org, role=Role.MANAGER)
    client = Client()
    client.force_login(user)
    return client


def test_gate_admin_is_tenant_scoped_and_rotates_keys(org_a, org_b, gate, device):
    device.post(
        "/api/v1/gates/check-in/",
        {"event_id": "e", "occurred_at": "2030-01-01T00:00:00Z", "ticket": "PKM-AAAA2222"},
        format="json",
    )
    other = _back_office(org_b, "b@example.com")
    for model in ("gate", "gateevent", "gatecommand", "manualreview", "gatealert"):
        response = other.get(f"/admin/gates/{model}/")
        assert response.status_code == 200, model
        assert response.context["cl"].result_count == 0, model
    assert other.get(f"/admin/gates/gate/{gate.pk}/change/").status_code == 302

    mine = _back_office(org_a, "a@example.com")
    assert mine.get("/admin/gates/gateevent/").context["cl"].result_count == 1
    old = GateKey.objects.get(gate=gate, revoked_at__isnull=True)
    mine.post("/admin/gates/gate/", {"action": "rotate_key", "_selected_action": [str(gate.pk)]})
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert GateKey.objects.filter(gate=gate, revoked_at__isnull=True).count() == 1
    assert device.get("/api/v1/gates/poll/").status_code == 401
