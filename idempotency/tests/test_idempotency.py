"""Idempotency-Key on POST, proven with test-only views (mounted by ``@pytest.mark.urls(__name__)``).

The main view creates an organization for the caller (a row in ``accounts_organization`` per run, so
side effects are counted with SQL); a module-level queue makes it fail transiently on demand.
"""

import threading
import time
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.urls import path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from inflection import camelize
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts import services as account_services
from accounts.api.serializers import OrganizationCreateInputSerializer, OrganizationOutputSerializer
from accounts.tests.factories import UserFactory
from app.exceptions import ConflictError
from app.idempotency import IDEMPOTENCY_ERROR_RESPONSES, request_fingerprint
from idempotency.decorators import idempotent
from idempotency.models import IdempotencyRecord, IdempotencyStatus
from idempotency.services import idempotency_records_purge

pytestmark = pytest.mark.urls(__name__)

ORGS_URL = "/api/v1/test-idempotency/orgs/"
ORGS_AGAIN_URL = "/api/v1/test-idempotency/orgs-again/"
GROUPS_URL = "/api/v1/test-idempotency/groups/"
UNGUARDED_URL = "/api/v1/test-idempotency/unguarded-orgs/"
BODY = {"name": "Idem Parking", "currency": "EUR", "country": "DE"}
CONCURRENCY = 8


class Behaviour:
    """Knobs of the test views, reset before every test."""

    sleep_seconds = 0.0
    failures: list[str] = []  # popped one per handler run: "conflict", "throttled", "crash"
    calls = 0
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.sleep_seconds = 0.0
        cls.failures = []
        cls.calls = 0


@pytest.fixture(autouse=True)
def _reset_behaviour() -> None:
    Behaviour.reset()


class OrganizationCreateTestApi(APIView):
    @extend_schema(
        request=OrganizationCreateInputSerializer,
        responses={201: OrganizationOutputSerializer, **IDEMPOTENCY_ERROR_RESPONSES},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        with Behaviour.lock:
            Behaviour.calls += 1
            failure = Behaviour.failures.pop(0) if Behaviour.failures else None
        if Behaviour.sleep_seconds:
            time.sleep(Behaviour.sleep_seconds)
        if failure == "conflict":
            raise ConflictError("Try again.")
        if failure == "throttled":
            raise Throttled(wait=3)
        if failure == "crash":
            raise RuntimeError("boom")
        serializer = OrganizationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {"slug": f"org-{uuid4().hex[:12]}", **serializer.validated_data}  # same names must not collide
        organization = account_services.organization_create(actor=request.user, **data)
        return Response(
            OrganizationOutputSerializer(organization).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/organizations/{organization.pk}/"},
        )


class UnguardedOrganizationCreateTestApi(APIView):
    """The same handler without @idempotent: the negative control for the race."""

    post = OrganizationCreateTestApi.post.__wrapped__  # type: ignore[attr-defined]


class GroupInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)


class GroupCreateAnonymousTestApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @idempotent  # above extend_schema this time: both orders document the header
    @extend_schema(request=GroupInputSerializer, responses={201: GroupInputSerializer})
    def post(self, request: Request) -> Response:
        group = Group.objects.create(name=request.data["name"])
        return Response({"id": group.pk, "name": group.name}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("api/v1/test-idempotency/orgs/", OrganizationCreateTestApi.as_view()),
    path("api/v1/test-idempotency/orgs-again/", OrganizationCreateTestApi.as_view()),
    path("api/v1/test-idempotency/groups/", GroupCreateAnonymousTestApi.as_view()),
    path("api/v1/test-idempotency/unguarded-orgs/", UnguardedOrganizationCreateTestApi.as_view()),
]


# ---------------------------------------------------------------------------- helpers


def _count_orgs(name: str = BODY["name"]) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_organization WHERE name = %s", [name])
        return int(cursor.fetchone()[0])


def _post(client: APIClient, url: str = ORGS_URL, body: Any = None, key: str | None = "key-1", **extra: Any) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, BODY if body is None else body, format="json", headers=headers, **extra)


def _only_error(response: Any) -> dict[str, Any]:
    payload = response.json()
    assert len(payload["errors"]) == 1, payload
    return {"type": payload["type"], **payload["errors"][0]}


@pytest.fixture
def driver():
    return UserFactory(email="driver@example.com")


@pytest.fixture
def client(auth_client, driver):
    return auth_client(driver)


# ---------------------------------------------------------------------------- replay


@pytest.mark.django_db
def test_same_key_and_body_replays_the_first_response_without_running_again(client):
    first = _post(client)
    second = _post(client)

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content == first.content  # byte for byte
    assert second.headers["Location"] == first.headers["Location"]
    assert Behaviour.calls == 1
    assert _count_orgs() == 1
    record = IdempotencyRecord.objects.get()
    assert record.status == IdempotencyStatus.COMPLETED
    assert record.response_status == 201
    assert record.method == "POST"
    assert record.path == ORGS_URL
    assert record.fingerprint == request_fingerprint(BODY)


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_422_and_creates_nothing(client):
    _post(client)

    response = _post(client, body={**BODY, "name": "Other Parking"})

    assert response.status_code == 422
    assert _only_error(response) == {
        "type": "client_error",
        "code": "idempotency_key_reused",
        "detail": "This Idempotency-Key was already used with a different request body; use a new key.",
        "attr": None,
    }
    assert _count_orgs("Other Parking") == 0
    assert _count_orgs() == 1
    assert Behaviour.calls == 1


@pytest.mark.django_db
def test_body_key_order_does_not_change_the_fingerprint(client):
    _post(client, body={"country": "DE", "currency": "EUR", "name": "Idem Parking"})

    response = _post(client, body={"name": "Idem Parking", "currency": "EUR", "country": "DE"})

    assert response.status_code == 201
    assert response.headers["Idempotent-Replayed"] == "true"
    assert _count_orgs() == 1


@pytest.mark.django_db
def test_the_same_key_of_another_user_is_independent(client, auth_client):
    other = auth_client(UserFactory(email="other@example.com"))

    mine = _post(client)
    theirs = _post(other)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert _count_orgs() == 2
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_independent(client):
    first = _post(client, ORGS_URL)
    second = _post(client, ORGS_AGAIN_URL)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert _count_orgs() == 2


@pytest.mark.django_db
def test_without_a_key_every_request_runs(client):
    _post(client, key=None)
    _post(client, key=None)

    assert _count_orgs() == 2
    assert not IdempotencyRecord.objects.exists()


# ---------------------------------------------------------------------------- what is stored


@pytest.mark.django_db
def test_a_validation_error_is_stored_and_replayed(client):
    first = _post(client, body={"currency": "EUR"})
    second = _post(client, body={"currency": "EUR"})

    assert first.status_code == second.status_code == 400
    assert first.json()["type"] == "validation_error"
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Behaviour.calls == 1
    assert IdempotencyRecord.objects.get().response_status == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "status_code", "retry_after"),
    [("conflict", 409, None), ("throttled", 429, "3"), ("crash", 500, None)],
)
def test_transient_answers_are_not_stored_and_the_key_can_be_retried(client, failure, status_code, retry_after):
    Behaviour.failures = [failure]
    client.raise_request_exception = False  # let the 500 be a response, as in production

    first = _post(client)
    assert first.status_code == status_code
    assert first.headers.get("Retry-After") == retry_after
    assert not IdempotencyRecord.objects.exists()
    assert _count_orgs() == 0

    retry = _post(client)

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert Behaviour.calls == 2
    assert _count_orgs() == 1
    assert IdempotencyRecord.objects.get().response_status == 201


# ---------------------------------------------------------------------------- the key itself


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 256, "clé", "tab\there", "del\x7f"])
def test_an_invalid_key_is_400_on_the_header_attr_and_runs_nothing(client, key):
    response = _post(client, key=key)

    assert response.status_code == 400
    assert _only_error(response) == {
        "type": "validation_error",
        "code": "invalid_idempotency_key",
        "detail": "Idempotency-Key must be 1 to 255 printable ASCII characters.",
        "attr": "Idempotency-Key",
    }
    assert Behaviour.calls == 0
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k" * 255, "a b ~!", "0b6a2d8e-3f1c-4c56-9a57-6a1f0e2d9b71"])
def test_keys_of_1_to_255_printable_ascii_characters_are_accepted(client, key):
    assert _post(client, key=key).status_code == 201
    assert _post(client, key=key).headers["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().key == key


@pytest.mark.django_db
def test_a_malformed_body_is_400_and_does_not_hold_the_key(client):
    response = client.post(
        ORGS_URL, data="{not json", content_type="application/json", headers={"Idempotency-Key": "key-1"}
    )

    assert response.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert _post(client).status_code == 201


# ---------------------------------------------------------------------------- records in progress and expired


def _record(user: Any, *, body: Any = None, **fields: Any) -> IdempotencyRecord:
    now = timezone.now()
    defaults: dict[str, Any] = {
        "scope": f"user:{user.pk}",
        "method": "POST",
        "path": ORGS_URL,
        "key": "key-1",
        "fingerprint": request_fingerprint(BODY if body is None else body),
        "claim_token": uuid4(),
        "claimed_at": now,
        "created_at": now,
    }
    return IdempotencyRecord.objects.create(**{**defaults, **fields})


@pytest.mark.django_db
def test_a_duplicate_of_a_request_still_running_after_the_wait_is_409_with_retry_after(client, driver, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    _record(driver)

    started = time.monotonic()
    response = _post(client)
    waited = time.monotonic() - started

    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    assert _only_error(response) == {
        "type": "client_error",
        "code": "idempotency_request_in_progress",
        "detail": "A request with this Idempotency-Key is still being processed; retry shortly.",
        "attr": None,
    }
    assert waited >= 0.2
    assert Behaviour.calls == 0
    assert IdempotencyRecord.objects.get().status == IdempotencyStatus.IN_PROGRESS


@pytest.mark.django_db
def test_a_different_body_while_in_progress_is_422_without_waiting(client, driver, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 5
    _record(driver)

    started = time.monotonic()
    response = _post(client, body={**BODY, "name": "Other Parking"})

    assert response.status_code == 422
    assert time.monotonic() - started < 1
    assert Behaviour.calls == 0


@pytest.mark.django_db
def test_an_abandoned_claim_is_taken_over_after_its_lease(client, driver, settings):
    settings.IDEMPOTENCY_LEASE_SECONDS = 120
    abandoned = _record(driver, claimed_at=timezone.now() - timedelta(seconds=121))

    response = _post(client)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    record = IdempotencyRecord.objects.get()
    assert record.pk == abandoned.pk
    assert record.claim_token != abandoned.claim_token
    assert record.status == IdempotencyStatus.COMPLETED
    assert _count_orgs() == 1


@pytest.mark.django_db
def test_an_expired_record_makes_the_key_new_again(client, driver):
    long_ago = timezone.now() - timedelta(hours=24, seconds=1)
    _record(
        driver,
        body={**BODY, "name": "Old Parking"},
        status=IdempotencyStatus.COMPLETED,
        response_status=201,
        response_body='{"id": "old"}',
        created_at=long_ago,
        claimed_at=long_ago,
        completed_at=long_ago,
    )

    response = _post(client)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert _count_orgs() == 1
    assert IdempotencyRecord.objects.get().fingerprint == request_fingerprint(BODY)


# ---------------------------------------------------------------------------- anonymous callers


@pytest.mark.django_db
def test_anonymous_keys_are_scoped_per_client_ip(api_client):
    body = {"name": "drivers"}

    first = api_client.post(GROUPS_URL, body, format="json", headers={"Idempotency-Key": "k"}, REMOTE_ADDR="10.0.0.1")
    replay = api_client.post(GROUPS_URL, body, format="json", headers={"Idempotency-Key": "k"}, REMOTE_ADDR="10.0.0.1")
    other_ip = api_client.post(
        GROUPS_URL, {"name": "drivers-2"}, format="json", headers={"Idempotency-Key": "k"}, REMOTE_ADDR="10.0.0.2"
    )

    assert first.status_code == replay.status_code == other_ip.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert "Idempotent-Replayed" not in other_ip.headers
    assert Group.objects.filter(name__startswith="drivers").count() == 2
    assert set(IdempotencyRecord.objects.values_list("scope", flat=True)) == {"ip:10.0.0.1", "ip:10.0.0.2"}


# ---------------------------------------------------------------------------- purge


@pytest.mark.django_db
def test_purge_deletes_only_records_older_than_the_ttl(driver):
    now = timezone.now()
    old = [_record(driver, key=f"old-{n}", created_at=now - timedelta(hours=25)) for n in range(3)]
    young = _record(driver, key="young", created_at=now - timedelta(hours=23))

    assert idempotency_records_purge(now=now, batch_size=2) == 3
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [young.pk]
    assert not IdempotencyRecord.objects.filter(pk__in=[record.pk for record in old]).exists()
    assert idempotency_records_purge(now=now) == 0  # idempotent
    assert idempotency_records_purge(older_than=timedelta(hours=1), now=now) == 1


# ---------------------------------------------------------------------------- OpenAPI


def test_the_schema_documents_the_header_its_400_and_the_409_and_422():
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    for url in (ORGS_URL, GROUPS_URL):  # @idempotent below and above @extend_schema
        operation = schema["paths"][url]["post"]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert parameter["in"] == "header"
        assert not parameter.get("required", False)
        assert {"201", "400", "409", "422"} <= set(operation["responses"])
    operation_id = schema["paths"][ORGS_URL]["post"]["operationId"]
    header_error = components[f"{camelize(operation_id)}Idempotency-KeyErrorComponent"]
    assert header_error["properties"]["attr"]["enum"] == ["Idempotency-Key"]
    assert header_error["properties"]["code"]["enum"] == ["invalid_idempotency_key"]
    responses = schema["paths"][ORGS_URL]["post"]["responses"]
    assert "idempotency_request_in_progress" in responses["409"]["description"]
    assert "idempotency_key_reused" in responses["422"]["description"]
    for code in ("409", "422"):
        assert responses[code]["content"]["application/json"]["schema"]["$ref"].endswith("/ClientErrorResponse")


# ---------------------------------------------------------------------------- concurrency


def _race(clients: list[APIClient], body: dict[str, Any], url: str = ORGS_URL) -> list[Any]:
    barrier = threading.Barrier(len(clients))
    responses: list[Any] = []
    lock = threading.Lock()

    def worker(client: APIClient) -> None:
        try:
            barrier.wait(timeout=10)
            response = _post(client, url, body=body, key="race-key")
            with lock:
                responses.append(response)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_the_operation_once_and_all_get_its_answer(auth_client, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 5  # well above the handler's 0.3 s
    user = UserFactory(email="racer@example.com")
    clients = [auth_client(user) for _ in range(CONCURRENCY)]
    Behaviour.sleep_seconds = 0.3
    body = {**BODY, "name": "Race Parking"}

    responses = _race(clients, body)

    assert [r.status_code for r in responses] == [201] * CONCURRENCY
    assert len({r.content for r in responses}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == [""] + ["true"] * (CONCURRENCY - 1)
    assert Behaviour.calls == 1
    assert _count_orgs("Race Parking") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, response_status FROM idempotency_idempotencyrecord WHERE key = 'race-key'")
        assert cursor.fetchall() == [("completed", 201)]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_after_a_transient_failure_run_it_once_more(auth_client, settings):
    """The holder's 409 is not stored: one waiting duplicate claims the key, runs, the rest replay it."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 5
    user = UserFactory(email="racer@example.com")
    clients = [auth_client(user) for _ in range(CONCURRENCY)]
    Behaviour.sleep_seconds = 0.3
    Behaviour.failures = ["conflict"]
    body = {**BODY, "name": "Race Parking"}

    responses = _race(clients, body)

    assert sorted(r.status_code for r in responses) == [201] * (CONCURRENCY - 1) + [409]
    assert len({r.content for r in responses if r.status_code == 201}) == 1
    assert Behaviour.calls == 2
    assert _count_orgs("Race Parking") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, response_status FROM idempotency_idempotencyrecord WHERE key = 'race-key'")
        assert cursor.fetchall() == [("completed", 201)]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_decorator_every_duplicate_runs(auth_client):
    user = UserFactory(email="racer@example.com")
    clients = [auth_client(user) for _ in range(CONCURRENCY)]
    Behaviour.sleep_seconds = 0.3

    responses = _race(clients, {**BODY, "name": "Race Parking"}, url=UNGUARDED_URL)

    assert [r.status_code for r in responses] == [201] * CONCURRENCY
    assert _count_orgs("Race Parking") == CONCURRENCY
