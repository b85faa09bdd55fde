"""Back office for enforcement: tenant scoping, the waive action with its reason form (through the
service), read-only resolved violations, the job run log for platform admins only."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import AuditAction, AuditLogEntry, Role
from accounts.tests.factories import MembershipFactory, UserFactory
from enforcement import violations
from enforcement.models import JobRun, Violation

pytestmark = pytest.mark.django_db

CHANGELISTS = ("violation", "dispute", "penaltypolicy", "enforcementcheck")


def _back_office(org, email, role=Role.STAFF):
    user = UserFactory(email=email, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="enforcement"))
    MembershipFactory(user=user, organization=org, role=role)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def violation(facility, policy, staff_a, car):
    return violations.violation_issue(actor=staff_a, facility=facility, kind="unauthorized", plate=car.plate)


def test_changelists_are_scoped_to_the_organization(org_a, org_b, violation, django_assert_max_num_queries):
    _, own = _back_office(org_a, "desk-a@example.com")
    _, other = _back_office(org_b, "desk-b@example.com")
    for model in CHANGELISTS:
        with django_assert_max_num_queries(25):
            response = own.get(f"/admin/enforcement/{model}/")
        assert response.status_code == 200, model
        assert other.get(f"/admin/enforcement/{model}/").context["cl"].result_count == 0, model
    assert own.get("/admin/enforcement/violation/").context["cl"].result_count == 1
    assert own.get(f"/admin/enforcement/violation/{violation.pk}/change/").status_code == 200
    assert other.get(f"/admin/enforcement/violation/{violation.pk}/change/").status_code == 302
    plate_search = own.get("/admin/enforcement/violation/", {"q": violation.plate.lower()})
    assert plate_search.context["cl"].result_count == 1
    assert violation.plate.encode() not in own.get(f"/admin/enforcement/violation/{violation.pk}/change/").content


def test_waive_action_asks_for_a_reason_then_calls_the_service(org_a, violation, django_capture_on_commit_callbacks):
    user, client = _back_office(org_a, "desk-a@example.com")
    url = "/admin/enforcement/violation/"
    form = client.post(url, {"action": "waive", "_selected_action": [violation.pk]})
    assert form.status_code == 200
    assert Violation.objects.get().status == "notified"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url, {"action": "waive", "_selected_action": [violation.pk], "apply": "1", "reason": "Broken meter"}
        )
    assert done.status_code == 302
    violation.refresh_from_db()
    assert (violation.status, violation.resolution_note, violation.resolved_by) == ("waived", "Broken meter", user)
    assert AuditLogEntry.objects.get(action=AuditAction.VIOLATION_WAIVED).actor_id == user.pk
    again = client.post(url, {"action": "waive", "_selected_action": [violation.pk], "apply": "1", "reason": "x"})
    assert again.status_code == 302
    assert Violation.objects.get().resolution_note == "Broken meter"  # refused: read-only once resolved


def test_job_runs_are_for_platform_admins_only(org_a, admin_user):
    JobRun.objects.create(job="enforcement.release_no_shows", started_at="2026-01-01T00:00:00Z", succeeded=True)
    _, staff = _back_office(org_a, "desk-a@example.com")
    assert staff.get("/admin/enforcement/jobrun/").status_code == 403
    admin = Client()
    admin.force_login(admin_user)
    response = admin.get("/admin/enforcement/jobrun/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
