import pytest

from accounts.models import AuditAction, AuditLogEntry
from accounts.tokens import auth_login

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


def test_get_me(auth_client):
    user = UserFactory(email="me@example.com", first_name="Mia", phone="+15550100")

    response = auth_client(user).get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": str(user.pk),
        "email": "me@example.com",
        "first_name": "Mia",
        "last_name": user.last_name,
        "phone": "+15550100",
        "is_verified": True,
        "date_joined": response.json()["date_joined"],
    }


def test_patch_me_updates_profile_but_not_email(auth_client):
    user = UserFactory(email="me@example.com")

    response = auth_client(user).patch(
        ME, {"first_name": "Neo", "phone": "+44 20 7946 0000", "email": "x@y.z"}, format="json"
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.phone, user.email) == ("Neo", "+44 20 7946 0000", "me@example.com")


def test_patch_me_rejects_bad_phone(auth_client):
    user = UserFactory(phone="")

    response = auth_client(user).patch(ME, {"phone": "call me maybe"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "phone"
    user.refresh_from_db()
    assert user.phone == ""


def test_password_change_requires_current_password(auth_client):
    user = UserFactory()

    response = auth_client(user).post(
        f"{ME}password/", {"current_password": "wrong", "new_password": "another-long-pass-1"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "wrong_password",
        "detail": "The current password is incorrect.",
        "attr": "current_password",
    }
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_revokes_refresh_tokens_and_is_audited(auth_client, api_client):
    user = UserFactory()
    pair = auth_login(email=user.email, password=PASSWORD)

    response = auth_client(user).post(
        f"{ME}password/", {"current_password": PASSWORD, "new_password": "another-long-pass-1"}, format="json"
    )

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password("another-long-pass-1")
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair.refresh}, format="json").status_code == 401
    assert AuditLogEntry.objects.filter(action=AuditAction.PASSWORD_CHANGED, actor_id=user.pk).count() == 1


def test_password_change_validates_new_password(auth_client):
    user = UserFactory()

    response = auth_client(user).post(
        f"{ME}password/", {"current_password": PASSWORD, "new_password": "123"}, format="json"
    )

    assert response.status_code == 400
    assert {e["attr"] for e in response.json()["errors"]} == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
