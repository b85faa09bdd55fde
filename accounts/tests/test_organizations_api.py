import pytest

from accounts.models import AuditAction, AuditLogEntry, Membership, Organization, Role

from .factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/organizations/"


def members_url(org, member=None):
    base = f"{ORGS}{org.pk}/members/"
    return f"{base}{member.pk}/" if member else base


class TestOrganizationCreateAndList:
    def test_creator_becomes_owner(self, auth_client, user):
        response = auth_client(user).post(
            ORGS, {"name": "Downtown Parking", "kind": "operator", "currency": "usd", "country": "us"}, format="json"
        )

        assert response.status_code == 201
        body = response.json()
        assert body["slug"] == "downtown-parking"
        assert body["currency"] == "USD"
        assert body["country"] == "US"
        assert body["my_role"] == "owner"
        assert Membership.objects.get(organization_id=body["id"]).role == Role.OWNER
        assert AuditLogEntry.objects.filter(action=AuditAction.ORGANIZATION_CREATED, actor_id=user.pk).count() == 1

    def test_slug_collisions_get_a_suffix(self, auth_client, user, org_a):
        org_a.slug = "downtown"
        org_a.save()

        response = auth_client(user).post(ORGS, {"name": "Downtown", "currency": "USD", "country": "US"}, format="json")

        assert response.json()["slug"] == "downtown-2"

    def test_invalid_input_names_each_field_and_creates_nothing(self, auth_client, user):
        response = auth_client(user).post(ORGS, {"name": "", "kind": "bank", "currency": "dollars"}, format="json")

        assert response.status_code == 400
        assert {e["attr"] for e in response.json()["errors"]} == {"name", "kind", "currency", "country"}
        assert not Organization.objects.exists()

    def test_list_shows_only_my_organizations(self, auth_client, owner_a, org_a, org_b, owner_b):
        response = auth_client(owner_a).get(ORGS)

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1
        assert [o["id"] for o in body["results"]] == [str(org_a.pk)]
        assert body["results"][0]["my_role"] == "owner"

    def test_anonymous_is_401(self, api_client):
        response = api_client.get(ORGS)

        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "not_authenticated"


class TestOrganizationDetail:
    def test_member_reads_own_organization(self, auth_client, staff_a, org_a):
        response = auth_client(staff_a).get(f"{ORGS}{org_a.pk}/")

        assert response.status_code == 200
        assert response.json()["my_role"] == "staff"

    def test_other_organization_is_404(self, auth_client, owner_a, org_b, owner_b):
        response = auth_client(owner_a).get(f"{ORGS}{org_b.pk}/")

        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"

    def test_other_organization_patch_is_404_and_unchanged(self, auth_client, owner_a, org_b, owner_b):
        response = auth_client(owner_a).patch(f"{ORGS}{org_b.pk}/", {"name": "Hijacked"}, format="json")

        assert response.status_code == 404
        org_b.refresh_from_db()
        assert org_b.name == "Beta Parking"

    def test_manager_updates_and_it_is_audited(self, auth_client, manager_a, org_a):
        response = auth_client(manager_a).patch(f"{ORGS}{org_a.pk}/", {"name": "Alpha Garages"}, format="json")

        assert response.status_code == 200
        assert response.json()["name"] == "Alpha Garages"
        entry = AuditLogEntry.objects.get(action=AuditAction.ORGANIZATION_UPDATED)
        assert entry.organization_id == org_a.pk
        assert entry.data == {"fields": ["name"]}

    def test_staff_cannot_update(self, auth_client, staff_a, org_a):
        response = auth_client(staff_a).patch(f"{ORGS}{org_a.pk}/", {"name": "Nope"}, format="json")

        assert response.status_code == 403
        org_a.refresh_from_db()
        assert org_a.name == "Alpha Parking"

    def test_slug_taken_is_400_on_slug(self, auth_client, owner_a, org_a, org_b):
        response = auth_client(owner_a).patch(f"{ORGS}{org_a.pk}/", {"slug": "beta"}, format="json")

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "slug"
        assert response.json()["errors"][0]["code"] == "slug_taken"


class TestMembers:
    def test_owner_adds_member_by_email(self, auth_client, owner_a, org_a):
        new = UserFactory(email="new.staff@example.com")

        response = auth_client(owner_a).post(
            members_url(org_a), {"email": "New.Staff@example.com", "role": "staff"}, format="json"
        )

        assert response.status_code == 201
        assert response.json()["user"]["id"] == str(new.pk)
        assert response.json()["role"] == "staff"
        entry = AuditLogEntry.objects.get(action=AuditAction.MEMBERSHIP_ADDED)
        assert entry.actor_id == owner_a.pk
        assert entry.data == {"user_id": str(new.pk), "role": "staff"}

    def test_unknown_email_is_400(self, auth_client, owner_a, org_a):
        response = auth_client(owner_a).post(
            members_url(org_a), {"email": "ghost@example.com", "role": "staff"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "email"
        assert response.json()["errors"][0]["code"] == "user_not_found"

    def test_duplicate_member_is_400(self, auth_client, owner_a, staff_a, org_a):
        response = auth_client(owner_a).post(
            members_url(org_a), {"email": staff_a.email, "role": "manager"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "already_member"
        assert Membership.objects.get(user=staff_a).role == Role.STAFF

    def test_manager_cannot_create_owner(self, auth_client, manager_a, org_a):
        UserFactory(email="wannabe@example.com")

        response = auth_client(manager_a).post(
            members_url(org_a), {"email": "wannabe@example.com", "role": "owner"}, format="json"
        )

        assert response.status_code == 403
        assert not Membership.objects.filter(user__email="wannabe@example.com").exists()

    def test_manager_can_add_staff(self, auth_client, manager_a, org_a):
        UserFactory(email="helper@example.com")

        response = auth_client(manager_a).post(
            members_url(org_a), {"email": "helper@example.com", "role": "staff"}, format="json"
        )

        assert response.status_code == 201

    def test_staff_cannot_list_or_add_members(self, auth_client, staff_a, org_a):
        client = auth_client(staff_a)
        UserFactory(email="x@example.com")

        assert client.get(members_url(org_a)).status_code == 403
        assert (
            client.post(members_url(org_a), {"email": "x@example.com", "role": "staff"}, format="json").status_code
            == 403
        )

    def test_list_members(self, auth_client, owner_a, manager_a, staff_a, org_a):
        response = auth_client(owner_a).get(members_url(org_a))

        assert response.status_code == 200
        assert [(m["user"]["email"], m["role"]) for m in response.json()["results"]] == [
            ("owner-a@example.com", "owner"),
            ("manager-a@example.com", "manager"),
            ("staff-a@example.com", "staff"),
        ]

    def test_other_organization_members_are_404(self, auth_client, owner_a, owner_b, org_b):
        member_b = Membership.objects.get(user=owner_b)
        client = auth_client(owner_a)

        assert client.get(members_url(org_b)).status_code == 404
        assert client.patch(members_url(org_b, member_b), {"role": "staff"}, format="json").status_code == 404
        assert client.delete(members_url(org_b, member_b)).status_code == 404
        assert Membership.objects.get(pk=member_b.pk).role == Role.OWNER

    def test_member_id_of_other_organization_via_own_org_url_is_404(self, auth_client, owner_a, org_a, owner_b):
        member_b = Membership.objects.get(user=owner_b)

        response = auth_client(owner_a).patch(members_url(org_a, member_b), {"role": "staff"}, format="json")

        assert response.status_code == 404
        assert Membership.objects.get(pk=member_b.pk).role == Role.OWNER

    def test_role_change_is_audited(self, auth_client, owner_a, staff_a, org_a):
        membership = Membership.objects.get(user=staff_a)

        response = auth_client(owner_a).patch(members_url(org_a, membership), {"role": "manager"}, format="json")

        assert response.status_code == 200
        assert response.json()["role"] == "manager"
        entry = AuditLogEntry.objects.get(action=AuditAction.MEMBERSHIP_ROLE_CHANGED)
        assert entry.data == {"user_id": str(staff_a.pk), "from": "staff", "to": "manager"}
        assert entry.target_id == str(membership.pk)

    def test_last_owner_cannot_be_demoted(self, auth_client, owner_a, org_a):
        membership = Membership.objects.get(user=owner_a)

        response = auth_client(owner_a).patch(members_url(org_a, membership), {"role": "manager"}, format="json")

        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "last_owner"
        membership.refresh_from_db()
        assert membership.role == Role.OWNER

    def test_last_owner_cannot_be_removed_or_leave(self, auth_client, owner_a, org_a):
        membership = Membership.objects.get(user=owner_a)

        response = auth_client(owner_a).delete(members_url(org_a, membership))

        assert response.status_code == 409
        assert Membership.objects.filter(pk=membership.pk).exists()
        assert not AuditLogEntry.objects.filter(action=AuditAction.MEMBERSHIP_REMOVED).exists()

    def test_owner_can_be_demoted_when_another_owner_exists(self, auth_client, owner_a, org_a):
        second = MembershipFactory(organization=org_a, role=Role.OWNER)

        response = auth_client(owner_a).patch(members_url(org_a, second), {"role": "staff"}, format="json")

        assert response.status_code == 200
        assert Membership.objects.filter(organization=org_a, role=Role.OWNER).count() == 1

    def test_manager_cannot_demote_or_remove_owner(self, auth_client, owner_a, manager_a, org_a):
        MembershipFactory(organization=org_a, role=Role.OWNER)
        owner_membership = Membership.objects.get(user=owner_a)
        client = auth_client(manager_a)

        assert client.patch(members_url(org_a, owner_membership), {"role": "staff"}, format="json").status_code == 403
        assert client.delete(members_url(org_a, owner_membership)).status_code == 403
        owner_membership.refresh_from_db()
        assert owner_membership.role == Role.OWNER

    def test_manager_cannot_promote_to_owner(self, auth_client, manager_a, staff_a, org_a):
        membership = Membership.objects.get(user=staff_a)

        response = auth_client(manager_a).patch(members_url(org_a, membership), {"role": "owner"}, format="json")

        assert response.status_code == 403
        membership.refresh_from_db()
        assert membership.role == Role.STAFF

    def test_staff_can_leave(self, auth_client, staff_a, org_a):
        membership = Membership.objects.get(user=staff_a)

        response = auth_client(staff_a).delete(members_url(org_a, membership))

        assert response.status_code == 204
        assert not Membership.objects.filter(pk=membership.pk).exists()
        assert AuditLogEntry.objects.get(action=AuditAction.MEMBERSHIP_REMOVED).actor_id == staff_a.pk

    def test_staff_cannot_remove_someone_else(self, auth_client, staff_a, manager_a, org_a):
        membership = Membership.objects.get(user=manager_a)

        response = auth_client(staff_a).delete(members_url(org_a, membership))

        assert response.status_code == 403
        assert Membership.objects.filter(pk=membership.pk).exists()

    def test_bad_role_is_400(self, auth_client, owner_a, staff_a, org_a):
        membership = Membership.objects.get(user=staff_a)

        response = auth_client(owner_a).patch(members_url(org_a, membership), {"role": "king"}, format="json")

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "role"
