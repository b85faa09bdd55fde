import pytest
import yaml

from app import views

pytestmark = pytest.mark.django_db


def test_health_is_200(api_client):
    response = api_client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_everything_is_reachable(api_client, monkeypatch):
    # The test settings use an in-memory broker, which is always reachable.
    response = api_client.get("/ready/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def test_ready_is_503_naming_the_failed_component(api_client, monkeypatch):
    from django_redis.cache import RedisCache

    dead_redis = RedisCache(
        "redis://127.0.0.1:1/0",  # nothing listens on port 1
        {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5}},
    )
    monkeypatch.setattr(views, "cache", dead_redis)

    response = api_client.get("/ready/")

    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]
    assert response.json()["checks"] == {"database": "ok", "cache": "unavailable", "broker": "ok"}


def test_schema_documents_token_not_valid_in_401(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    enum = schema["components"]["schemas"]["ErrorCode401Enum"]["enum"]
    assert "token_not_valid" in enum
    refresh_401 = schema["paths"]["/api/v1/auth/token/refresh/"]["post"]["responses"]["401"]
    assert refresh_401["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse401")


def test_docs_pages_render(api_client):
    assert api_client.get("/api/docs/").status_code == 200
    assert api_client.get("/api/redoc/").status_code == 200
