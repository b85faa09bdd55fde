import re

import pytest
from django.core import mail
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import AuditAction, AuditLogEntry, User

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def _register_body(**overrides):
    body = {
        "email": "new.driver@example.com",
        "password": "a-long-unusual-pass-42",
        "password_confirm": "a-long-unusual-pass-42",
        "first_name": "New",
        "last_name": "Driver",
    }
    body.update(overrides)
    return body


def _login(api_client, email, password=PASSWORD):
    response = api_client.post(TOKEN, {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


class TestRegister:
    def test_creates_user_and_returns_no_password_fields(self, api_client):
        response = api_client.post(REGISTER, _register_body(phone="+1 555 0100"), format="json")

        assert response.status_code == 201
        body = response.json()
        assert body["email"] == "new.driver@example.com"
        assert body["first_name"] == "New"
        assert body["phone"] == "+1 555 0100"
        assert body["is_verified"] is False
        assert not {"password", "password_confirm"} & set(body)
        user = User.objects.get(email="new.driver@example.com")
        assert user.check_password("a-long-unusual-pass-42")

    def test_email_is_stored_lower_case(self, api_client):
        response = api_client.post(REGISTER, _register_body(email="Mixed.Case@Example.COM"), format="json")

        assert response.status_code == 201
        assert response.json()["email"] == "mixed.case@example.com"

    def test_duplicate_email_case_insensitive_is_400_on_email(self, api_client):
        UserFactory(email="taken@example.com")

        response = api_client.post(REGISTER, _register_body(email="TAKEN@example.com"), format="json")

        assert response.status_code == 400
        assert response.json() == {
            "type": "validation_error",
            "errors": [{"code": "email_taken", "detail": "A user with this email already exists.", "attr": "email"}],
        }
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    def test_password_mismatch_names_the_field_and_writes_nothing(self, api_client):
        response = api_client.post(REGISTER, _register_body(password_confirm="something-else-42"), format="json")

        assert response.status_code == 400
        errors = response.json()["errors"]
        assert [(e["attr"], e["code"]) for e in errors] == [("password_confirm", "password_mismatch")]
        assert not User.objects.exists()

    def test_django_password_validators_apply(self, api_client):
        response = api_client.post(
            REGISTER, _register_body(password="12345678", password_confirm="12345678"), format="json"
        )

        assert response.status_code == 400
        codes = {(e["attr"], e["code"]) for e in response.json()["errors"]}
        assert ("password", "password_too_common") in codes
        assert ("password", "password_entirely_numeric") in codes
        assert not User.objects.exists()

    def test_missing_fields_are_each_named(self, api_client):
        response = api_client.post(REGISTER, {"email": "not-an-email"}, format="json")

        assert response.status_code == 400
        attrs = {e["attr"] for e in response.json()["errors"]}
        assert attrs == {"email", "password", "password_confirm", "first_name", "last_name"}


class TestTokens:
    def test_login_returns_access_and_refresh_that_work(self, api_client):
        user = UserFactory(email="driver@example.com")

        tokens = _login(api_client, "DRIVER@example.com")

        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        me = api_client.get("/api/v1/users/me/")
        assert me.status_code == 200
        assert me.json()["id"] == str(user.pk)

    def test_wrong_password_is_401_and_audited(self, api_client):
        user = UserFactory(email="driver@example.com")

        response = api_client.post(TOKEN, {"email": "driver@example.com", "password": "nope"}, format="json")

        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "no_active_account"
        entry = AuditLogEntry.objects.get(action=AuditAction.LOGIN_FAILED)
        assert entry.actor_id == user.pk
        assert entry.actor_email == "driver@example.com"
        assert entry.ip_address == "127.0.0.1"
        assert entry.request_id == response["X-Request-ID"]

    def test_inactive_user_cannot_log_in(self, api_client):
        UserFactory(email="gone@example.com", is_active=False)

        response = api_client.post(TOKEN, {"email": "gone@example.com", "password": PASSWORD}, format="json")

        assert response.status_code == 401

    def test_refresh_rotates_and_old_token_is_refused(self, api_client):
        UserFactory(email="driver@example.com")
        first = _login(api_client, "driver@example.com")

        rotated = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
        assert rotated.status_code == 200
        second = rotated.json()
        assert second["refresh"] != first["refresh"]
        assert second["access"]

        replay = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
        assert replay.status_code == 401
        assert replay.json()["errors"][0]["code"] == "token_not_valid"

    def test_reusing_a_rotated_token_revokes_the_whole_family(self, api_client):
        UserFactory(email="driver@example.com")
        first = _login(api_client, "driver@example.com")
        second = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json").json()
        third = api_client.post(REFRESH, {"refresh": second["refresh"]}, format="json").json()

        # an attacker replays the first token
        assert api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json").status_code == 401

        # the legitimate holder's newest token is dead too
        response = api_client.post(REFRESH, {"refresh": third["refresh"]}, format="json")
        assert response.status_code == 401
        assert AuditLogEntry.objects.filter(action=AuditAction.REFRESH_TOKEN_REUSE).count() == 2

    def test_reuse_does_not_touch_another_login_of_the_same_user(self, api_client):
        UserFactory(email="driver@example.com")
        phone = _login(api_client, "driver@example.com")
        laptop = _login(api_client, "driver@example.com")
        api_client.post(REFRESH, {"refresh": phone["refresh"]}, format="json")
        api_client.post(REFRESH, {"refresh": phone["refresh"]}, format="json")  # reuse: phone family revoked

        response = api_client.post(REFRESH, {"refresh": laptop["refresh"]}, format="json")

        assert response.status_code == 200

    def test_garbage_and_access_tokens_are_refused_as_refresh(self, api_client):
        UserFactory(email="driver@example.com")
        tokens = _login(api_client, "driver@example.com")

        for bad in ("not-a-jwt", tokens["access"], tokens["refresh"][:-3] + "abc"):
            response = api_client.post(REFRESH, {"refresh": bad}, format="json")
            assert response.status_code == 401, bad
            assert response.json()["errors"][0]["code"] == "token_not_valid"

    def test_logout_blacklists_refresh_token(self, api_client):
        UserFactory(email="driver@example.com")
        tokens = _login(api_client, "driver@example.com")

        response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

        assert response.status_code == 204
        assert BlacklistedToken.objects.count() == 1
        assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401

    def test_logout_with_invalid_token_is_401(self, api_client):
        response = api_client.post(LOGOUT, {"refresh": "garbage"}, format="json")

        assert response.status_code == 401
        assert BlacklistedToken.objects.count() == 0


class TestLoginThrottle:
    def test_sixth_attempt_per_account_in_a_minute_is_429_with_retry_after(self, api_client):
        UserFactory(email="driver@example.com")
        for _ in range(5):
            response = api_client.post(TOKEN, {"email": "driver@example.com", "password": "wrong"}, format="json")
            assert response.status_code == 401

        response = api_client.post(TOKEN, {"email": "driver@example.com", "password": PASSWORD}, format="json")

        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert response.json()["type"] == "client_error"
        assert response.json()["errors"][0]["code"] == "throttled"

    def test_per_account_limit_holds_across_ip_addresses(self, api_client):
        UserFactory(email="driver@example.com")
        for n in range(5):
            api_client.post(
                TOKEN, {"email": "driver@example.com", "password": "x"}, format="json", REMOTE_ADDR=f"10.0.0.{n}"
            )

        response = api_client.post(
            TOKEN, {"email": "Driver@example.com", "password": "x"}, format="json", REMOTE_ADDR="10.0.0.99"
        )

        assert response.status_code == 429

    def test_per_ip_limit_holds_across_accounts(self, api_client):
        for n in range(5):
            api_client.post(TOKEN, {"email": f"u{n}@example.com", "password": "x"}, format="json")

        response = api_client.post(TOKEN, {"email": "other@example.com", "password": "x"}, format="json")

        assert response.status_code == 429

    def test_registration_is_throttled_per_ip(self, api_client):
        for n in range(5):
            api_client.post(REGISTER, _register_body(email=f"r{n}@example.com"), format="json")

        response = api_client.post(REGISTER, _register_body(email="r9@example.com"), format="json")

        assert response.status_code == 429
        assert User.objects.count() == 5


class TestPasswordReset:
    def test_unknown_email_is_202_and_sends_nothing(self, api_client):
        response = api_client.post("/api/v1/auth/password-reset/", {"email": "nobody@example.com"}, format="json")

        assert response.status_code == 202
        assert mail.outbox == []

    def test_known_email_gets_a_working_single_use_link(self, api_client, django_capture_on_commit_callbacks):
        user = UserFactory(email="driver@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post("/api/v1/auth/password-reset/", {"email": "Driver@example.com"}, format="json")
        assert response.status_code == 202
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["driver@example.com"]
        uid, token = re.search(r"uid=(\S+) and token=(\S+) ", mail.outbox[0].body).groups()

        confirm = {"uid": uid, "token": token, "new_password": "brand-new-secret-77"}
        response = api_client.post("/api/v1/auth/password-reset/confirm/", confirm, format="json")

        assert response.status_code == 204
        user.refresh_from_db()
        assert user.check_password("brand-new-secret-77")
        again = api_client.post("/api/v1/auth/password-reset/confirm/", confirm, format="json")
        assert again.status_code == 400
        assert again.json()["errors"][0] == {
            "code": "invalid_token",
            "detail": "The reset link is invalid or has expired.",
            "attr": "token",
        }
        assert AuditLogEntry.objects.filter(action=AuditAction.PASSWORD_RESET_COMPLETED, actor_id=user.pk).exists()

    def test_bad_uid_is_400_and_password_unchanged(self, api_client):
        user = UserFactory(email="driver@example.com")

        response = api_client.post(
            "/api/v1/auth/password-reset/confirm/",
            {"uid": "!!", "token": "x", "new_password": "brand-new-secret-77"},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "token"
        user.refresh_from_db()
        assert user.check_password(PASSWORD)
