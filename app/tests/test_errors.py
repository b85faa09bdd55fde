"""One error shape for every 4xx/5xx (ARCHITECTURE §8)."""

import pytest
from django.urls import path
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from app.exceptions import ResourceBusyError

pytestmark = pytest.mark.django_db


@api_view(["GET"])
@permission_classes([AllowAny])
def boom(request):
    raise RuntimeError("secret internals: password=hunter2")


@api_view(["GET"])
@permission_classes([AllowAny])
def busy(request):
    raise ResourceBusyError(retry_after=2)


@api_view(["GET"])
@permission_classes([AllowAny])
def ok(request):
    return Response({"ok": True})


class TwoPerHour(AnonRateThrottle):
    rate = "2/hour"


@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([TwoPerHour])
def throttled(request):
    return Response({"ok": True})


urlpatterns = [path("boom/", boom), path("busy/", busy), path("ok/", ok), path("throttled/", throttled)]


def _assert_shape(body, type_, code, attr=None):
    assert body["type"] == type_
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["attr"] == attr
    assert set(body["errors"][0]) == {"code", "detail", "attr"}


def test_unknown_api_url_is_json_404(api_client):
    response = api_client.get("/api/v1/does-not-exist/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    _assert_shape(response.json(), "client_error", "not_found")


def test_method_not_allowed_is_405(api_client):
    response = api_client.delete("/api/v1/auth/register/")

    assert response.status_code == 405
    _assert_shape(response.json(), "client_error", "method_not_allowed")


def test_malformed_json_is_400(api_client):
    response = api_client.generic(
        "POST", "/api/v1/auth/register/", data='{"email": "broken', content_type="application/json"
    )

    assert response.status_code == 400
    _assert_shape(response.json(), "client_error", "parse_error")


def test_unsupported_media_type_is_415(api_client):
    response = api_client.generic("POST", "/api/v1/auth/register/", data="a=b", content_type="text/plain")

    assert response.status_code == 415
    _assert_shape(response.json(), "client_error", "unsupported_media_type")


def test_invalid_bearer_token_is_401_token_not_valid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    response = api_client.get("/api/v1/users/me/")

    assert response.status_code == 401
    _assert_shape(response.json(), "client_error", "token_not_valid")


@pytest.mark.urls(__name__)
def test_unexpected_exception_is_500_without_internals():
    from rest_framework.test import APIClient

    # raise_request_exception=False: behave like a real server instead of re-raising in the test
    response = APIClient(raise_request_exception=False).get("/boom/")

    assert response.status_code == 500
    body = response.json()
    _assert_shape(body, "server_error", "error")
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_domain_busy_error_is_409_with_retry_after(api_client):
    response = api_client.get("/busy/")

    assert response.status_code == 409
    assert response["Retry-After"] == "2"
    _assert_shape(response.json(), "client_error", "resource_busy")


@pytest.mark.urls(__name__)
def test_request_id_is_generated_or_echoed(api_client):
    generated = api_client.get("/ok/")
    echoed = api_client.get("/ok/", HTTP_X_REQUEST_ID="client-chosen-id-123")
    unsafe = api_client.get("/ok/", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert len(generated["X-Request-ID"]) == 32
    assert echoed["X-Request-ID"] == "client-chosen-id-123"
    assert unsafe["X-Request-ID"] != "bad id\nwith newline"
    assert len(unsafe["X-Request-ID"]) == 32


@pytest.mark.urls(__name__)
def test_throttled_is_429_with_retry_after(api_client):
    statuses = [api_client.get("/throttled/").status_code for _ in range(3)]
    third = api_client.get("/throttled/")

    assert statuses == [200, 200, 429]
    assert int(third["Retry-After"]) > 0
    _assert_shape(third.json(), "client_error", "throttled")


def test_impossible_datetimes_and_options_are_clean_4xx_and_200(auth_client, driver):
    from rest_framework.test import APIClient

    client = auth_client(driver)
    response = client.post(
        "/api/v1/bookings/",
        {
            "facility": 1,
            "vehicle": "b3dcf1cc-2fab-1d55-a5ea-04da5a0e4243",
            "start": "2030-01-01T12:00:00Z",
            "end": "2030-01-01T12:99:00Z",
        },
    )
    assert (response.status_code, response.json()["errors"][0]["attr"]) == (400, "end")
    options = APIClient()
    options.force_authenticate(driver)
    answer = options.options("/api/v1/vehicles/")
    assert answer.status_code == 200
    assert answer.json()["schema"] == "/api/schema/"
