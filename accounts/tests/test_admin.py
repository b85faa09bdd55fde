import pytest
from django.test import Client

from accounts.audit import audit_log_record
from accounts.models import AuditAction, Membership, Role

from .factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/user/",
        "/admin/accounts/user/?q=example",
        "/admin/accounts/organization/",
        "/admin/accounts/membership/",
        "/admin/accounts/auditlogentry/",
        "/admin/accounts/user/add/",
        "/admin/accounts/organization/add/",
    ],
)
def test_admin_pages_render(superuser_client, url):
    MembershipFactory()
    audit_log_record(action=AuditAction.LOGIN_FAILED, actor=None, actor_email="a@example.com")

    response = superuser_client.get(url)

    assert response.status_code == 200


def test_staff_sees_only_own_organizations(django_user_model):
    from django.contrib.auth.models import Permission

    staff_user = UserFactory(email="staffer@example.com", is_staff=True)
    staff_user.user_permissions.add(*Permission.objects.filter(codename__in=["view_organization", "view_membership"]))
    mine = OrganizationFactory(name="Mine")
    theirs = OrganizationFactory(name="Theirs")
    MembershipFactory(user=staff_user, organization=mine, role=Role.MANAGER)
    MembershipFactory(organization=theirs)
    client = Client()
    client.force_login(staff_user)

    response = client.get("/admin/accounts/organization/")

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [mine]
    assert client.get(f"/admin/accounts/organization/{theirs.pk}/change/").status_code == 302  # not found → redirect
    memberships = client.get("/admin/accounts/membership/").context["cl"].queryset
    assert set(memberships) == set(Membership.objects.filter(organization=mine))


def test_audit_log_is_read_only_in_admin(superuser_client):
    entry = audit_log_record(action=AuditAction.LOGIN_FAILED, actor=None, actor_email="a@example.com")

    assert superuser_client.get("/admin/accounts/auditlogentry/add/").status_code == 403
    assert (
        superuser_client.post(f"/admin/accounts/auditlogentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    )
