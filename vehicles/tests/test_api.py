import logging
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from vehicles.models import Vehicle
from vehicles.plates import plate_blind_index

from .conftest import UNRELATED_KEY
from .factories import VehicleFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/vehicles/"


def detail_url(vehicle_id) -> str:
    return f"/api/v1/vehicles/{vehicle_id}/"


def error(code: str, detail: str, attr: str | None, kind: str = "validation_error") -> dict:
    return {"type": kind, "errors": [{"code": code, "detail": detail, "attr": attr}]}


NOT_FOUND = error("not_found", "Vehicle not found.", None, kind="client_error")
INVALID_CHARS = "A licence plate may contain only letters and digits (spaces, dashes and dots are ignored)."
DUPLICATE = error("duplicate_plate", "You already have a vehicle with this licence plate.", "plate")


def as_output(vehicle: Vehicle) -> dict:
    vehicle.refresh_from_db()
    return {
        "id": str(vehicle.pk),
        "plate": vehicle.plate,
        "country": vehicle.country,
        "vehicle_type": vehicle.vehicle_type,
        "is_ev": vehicle.is_ev,
        "make": vehicle.make,
        "model": vehicle.model,
        "color": vehicle.color,
        "nickname": vehicle.nickname,
        "is_default": vehicle.is_default,
        "created_at": vehicle.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": vehicle.updated_at.isoformat().replace("+00:00", "Z"),
    }


@pytest.fixture
def client(driver, auth_client):
    return auth_client(driver)


class TestUrls:
    def test_named_routes(self):
        vehicle_id = uuid.uuid4()
        assert reverse("vehicles:vehicle-list") == LIST_URL
        assert reverse("vehicles:vehicle-detail", kwargs={"id": vehicle_id}) == detail_url(vehicle_id)


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "detail"),
        [("get", False), ("post", False), ("get", True), ("patch", True), ("delete", True)],
    )
    def test_anonymous_is_401_and_nothing_changes(self, api_client, driver, method, detail):
        vehicle = VehicleFactory(owner=driver, nickname="Mine")
        url = detail_url(vehicle.pk) if detail else LIST_URL

        response = getattr(api_client, method)(url, {"plate": "NEW1", "vehicle_type": "van", "nickname": "x"})

        assert response.status_code == 401
        assert response.json() == error(
            "not_authenticated", "Authentication credentials were not provided.", None, kind="client_error"
        )
        assert list(Vehicle.objects.values_list("pk", "nickname")) == [(vehicle.pk, "Mine")]

    def test_invalid_token_is_401(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

        response = api_client.get(LIST_URL)

        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "token_not_valid"


class TestCreate:
    def test_creates_first_vehicle_as_default_with_normalised_plate(self, client, driver):
        response = client.post(
            LIST_URL,
            {
                "plate": "ab-12 cd",
                "country": "gb",
                "vehicle_type": "suv",
                "is_ev": True,
                "make": "Volvo",
                "model": "XC40",
                "color": "Blue",
                "nickname": "Family car",
            },
        )

        assert response.status_code == 201
        vehicle = Vehicle.objects.get()
        assert response.json() == as_output(vehicle)
        assert response.json() | {"id": None, "created_at": None, "updated_at": None} == {
            "id": None,
            "plate": "AB12CD",
            "country": "GB",
            "vehicle_type": "suv",
            "is_ev": True,
            "make": "Volvo",
            "model": "XC40",
            "color": "Blue",
            "nickname": "Family car",
            "is_default": True,
            "created_at": None,
            "updated_at": None,
        }
        assert vehicle.owner_id == driver.pk
        assert vehicle.plate_index == plate_blind_index("AB12CD")

    def test_minimal_body_uses_defaults(self, client):
        response = client.post(LIST_URL, {"plate": "K 123", "vehicle_type": "motorcycle"})

        assert response.status_code == 201
        body = response.json()
        assert (body["plate"], body["country"], body["is_ev"], body["make"], body["nickname"], body["is_default"]) == (
            "K123",
            None,
            False,
            "",
            "",
            True,
        )
        assert uuid.UUID(body["id"]).version == 4

    def test_second_vehicle_with_is_default_takes_the_default(self, client, driver):
        first = VehicleFactory(owner=driver)

        response = client.post(LIST_URL, {"plate": "NEW1", "vehicle_type": "van", "is_default": True})

        assert response.status_code == 201
        assert response.json()["is_default"] is True
        assert list(Vehicle.objects.filter(is_default=True).values_list("pk", flat=True)) == [
            uuid.UUID(response.json()["id"])
        ]
        first.refresh_from_db()
        assert first.is_default is False

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (
                {"plate": "AB12CD", "vehicle_type": "bus"},
                error("invalid_choice", '"bus" is not a valid choice.', "vehicle_type"),
            ),
            ({"vehicle_type": "van"}, error("required", "This field is required.", "plate")),
            ({"plate": "", "vehicle_type": "van"}, error("blank", "This field may not be blank.", "plate")),
            (
                {"plate": " - . ", "vehicle_type": "van"},
                error("invalid_plate", "Enter a licence plate.", "plate"),
            ),
            (
                {"plate": "AB12CD34EF56GH78", "vehicle_type": "van"},
                error("invalid_plate", "A licence plate has at most 15 letters and digits.", "plate"),
            ),
            ({"plate": "AB12CD!?", "vehicle_type": "van"}, error("invalid_plate", INVALID_CHARS, "plate")),
            (
                {"plate": "AB12CD", "vehicle_type": "van", "country": "XX"},
                error("invalid_country", "Enter an ISO 3166-1 alpha-2 country code, such as DE or IN.", "country"),
            ),
            (
                {"plate": "AB12CD", "vehicle_type": "van", "nickname": "n" * 51},
                error("max_length", "Ensure this field has no more than 50 characters.", "nickname"),
            ),
        ],
    )
    def test_invalid_input_is_400_on_the_field_and_writes_nothing(self, client, body, expected):
        response = client.post(LIST_URL, body)

        assert response.status_code == 400
        assert response.json() == expected
        assert Vehicle.objects.count() == 0

    @pytest.mark.parametrize("spelling", ["AB12CD", "ab-12 cd", "ＡＢ１２ＣＤ"])
    def test_duplicate_plate_for_same_driver_in_any_spelling_is_400(self, client, driver, spelling):
        VehicleFactory(owner=driver, plate="ab-12 cd")

        response = client.post(LIST_URL, {"plate": spelling, "vehicle_type": "van"})

        assert response.status_code == 400
        assert response.json() == DUPLICATE
        assert Vehicle.objects.count() == 1

    def test_same_plate_is_allowed_for_another_driver(self, client, other_driver):
        VehicleFactory(owner=other_driver, plate="AB12CD")

        response = client.post(LIST_URL, {"plate": "ab-12 cd", "vehicle_type": "van"})

        assert response.status_code == 201
        assert response.json()["is_default"] is True
        assert Vehicle.objects.filter(plate_index=plate_blind_index("AB12CD")).count() == 2

    def test_owner_cannot_be_chosen_by_the_client(self, client, driver, other_driver):
        response = client.post(LIST_URL, {"plate": "AB1", "vehicle_type": "van", "owner": str(other_driver.pk)})

        assert response.status_code == 201
        assert Vehicle.objects.get().owner_id == driver.pk


class TestList:
    def test_lists_only_my_vehicles_newest_first_paginated(self, client, driver, other_driver):
        first = VehicleFactory(owner=driver, nickname="B")
        second = VehicleFactory(owner=driver, nickname="A")
        VehicleFactory(owner=other_driver)

        response = client.get(LIST_URL)

        assert response.status_code == 200
        assert response.json() == {
            "count": 2,
            "next": None,
            "previous": None,
            "results": [as_output(second), as_output(first)],
        }

    def test_page_size(self, client, driver):
        vehicles = [VehicleFactory(owner=driver) for _ in range(3)]

        response = client.get(LIST_URL, {"page_size": 2, "page": 2})

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        assert [item["id"] for item in body["results"]] == [str(vehicles[0].pk)]

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            ("nickname", ["Alpha", "Bravo", "Charlie"]),
            ("-nickname", ["Charlie", "Bravo", "Alpha"]),
            ("created_at", ["Bravo", "Charlie", "Alpha"]),
            ("-created_at", ["Alpha", "Charlie", "Bravo"]),
        ],
    )
    def test_ordering(self, client, driver, ordering, expected):
        for nickname in ("Bravo", "Charlie", "Alpha"):
            VehicleFactory(owner=driver, nickname=nickname)

        response = client.get(LIST_URL, {"ordering": ordering})

        assert [item["nickname"] for item in response.json()["results"]] == expected

    @pytest.mark.parametrize("ordering", ["plate", "plate_index", "owner__email"])
    def test_ordering_by_other_fields_is_ignored(self, client, driver, ordering):
        first = VehicleFactory(owner=driver, plate="ZZ1")
        second = VehicleFactory(owner=driver, plate="AA1")

        response = client.get(LIST_URL, {"ordering": ordering})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()["results"]] == [str(second.pk), str(first.pk)]

    def test_filters(self, client, driver):
        VehicleFactory(owner=driver, nickname="ev-van", vehicle_type="van", is_ev=True)
        VehicleFactory(owner=driver, nickname="van", vehicle_type="van", is_ev=False)
        VehicleFactory(owner=driver, nickname="ev-suv", vehicle_type="suv", is_ev=True)

        def nicknames(params):
            return sorted(item["nickname"] for item in client.get(LIST_URL, params).json()["results"])

        assert nicknames({"vehicle_type": "van"}) == ["ev-van", "van"]
        assert nicknames({"is_ev": "true"}) == ["ev-suv", "ev-van"]
        assert nicknames({"vehicle_type": "van", "is_ev": "false"}) == ["van"]

    def test_invalid_filter_value_is_400(self, client):
        response = client.get(LIST_URL, {"vehicle_type": "bus"})

        assert response.status_code == 400
        assert response.json() == error(
            "invalid_choice", "Select a valid choice. bus is not one of the available choices.", "vehicle_type"
        )

    def test_query_budget(self, client, driver, django_assert_num_queries):
        for _ in range(5):
            VehicleFactory(owner=driver)

        # The JWT user, the count, the page.
        with django_assert_num_queries(3):
            response = client.get(LIST_URL)

        assert len(response.json()["results"]) == 5


class TestRetrieve:
    def test_my_vehicle(self, client, driver):
        vehicle = VehicleFactory(owner=driver, plate="ab 12 cd")

        response = client.get(detail_url(vehicle.pk))

        assert response.status_code == 200
        assert response.json() == as_output(vehicle)
        assert response.json()["plate"] == "AB12CD"

    def test_another_drivers_vehicle_is_404(self, client, other_driver):
        theirs = VehicleFactory(owner=other_driver)

        response = client.get(detail_url(theirs.pk))

        assert response.status_code == 404
        assert response.json() == NOT_FOUND

    def test_unknown_id_is_404(self, client):
        response = client.get(detail_url(uuid.uuid4()))

        assert response.status_code == 404
        assert response.json() == NOT_FOUND

    def test_non_uuid_id_is_404(self, client, driver):
        VehicleFactory(owner=driver)

        response = client.get("/api/v1/vehicles/1/")

        assert response.status_code == 404

    def test_put_is_not_allowed(self, client, driver):
        vehicle = VehicleFactory(owner=driver)

        response = client.put(detail_url(vehicle.pk), {"plate": "X1", "vehicle_type": "van"})

        assert response.status_code == 405


class TestPartialUpdate:
    def test_changes_given_fields(self, client, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD", nickname="Old", country="DE")

        response = client.patch(detail_url(vehicle.pk), {"nickname": "New", "plate": "xy-99-zz", "country": None})

        assert response.status_code == 200
        assert response.json() == as_output(vehicle)
        assert (vehicle.nickname, vehicle.plate, vehicle.country, vehicle.plate_index) == (
            "New",
            "XY99ZZ",
            None,
            plate_blind_index("XY99ZZ"),
        )

    def test_is_default_true_moves_the_default(self, client, driver):
        first = VehicleFactory(owner=driver)
        second = VehicleFactory(owner=driver)

        response = client.patch(detail_url(second.pk), {"is_default": True})

        assert response.status_code == 200
        assert response.json()["is_default"] is True
        assert list(Vehicle.objects.filter(is_default=True).values_list("pk", flat=True)) == [second.pk]
        first.refresh_from_db()
        assert first.is_default is False

    def test_is_default_false_on_the_default_is_400_and_changes_nothing(self, client, driver):
        first = VehicleFactory(owner=driver, nickname="Keep")

        response = client.patch(detail_url(first.pk), {"is_default": False, "nickname": "Changed"})

        assert response.status_code == 400
        assert response.json() == error(
            "default_required",
            "One vehicle must stay the default: make another vehicle the default instead.",
            "is_default",
        )
        first.refresh_from_db()
        assert (first.is_default, first.nickname) == (True, "Keep")

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"vehicle_type": "bus"}, error("invalid_choice", '"bus" is not a valid choice.', "vehicle_type")),
            ({"plate": "AB_12"}, error("invalid_plate", INVALID_CHARS, "plate")),
            ({"plate": "OTHER1"}, DUPLICATE),
        ],
    )
    def test_invalid_input_is_400_and_changes_nothing(self, client, driver, body, expected):
        VehicleFactory(owner=driver, plate="OTHER1")
        vehicle = VehicleFactory(owner=driver, plate="AB12CD", vehicle_type="van")
        before = as_output(vehicle)

        response = client.patch(detail_url(vehicle.pk), body)

        assert response.status_code == 400
        assert response.json() == expected
        assert as_output(vehicle) == before

    def test_another_drivers_vehicle_is_404_and_unchanged(self, client, other_driver):
        theirs = VehicleFactory(owner=other_driver, nickname="Theirs")
        before = as_output(theirs)

        response = client.patch(detail_url(theirs.pk), {"nickname": "Mine", "is_default": True})

        assert response.status_code == 404
        assert response.json() == NOT_FOUND
        assert as_output(theirs) == before


class TestDestroy:
    def test_deletes_my_vehicle(self, client, driver):
        first = VehicleFactory(owner=driver)
        second = VehicleFactory(owner=driver)

        response = client.delete(detail_url(second.pk))

        assert response.status_code == 204
        assert response.content == b""
        assert list(Vehicle.objects.values_list("pk", "is_default")) == [(first.pk, True)]

    def test_deleting_the_default_promotes_the_newest_remaining(self, client, driver):
        default = VehicleFactory(owner=driver)
        older = VehicleFactory(owner=driver)
        newest = VehicleFactory(owner=driver)
        Vehicle.objects.filter(pk=older.pk).update(created_at=newest.created_at.replace(year=2020))

        response = client.delete(detail_url(default.pk))

        assert response.status_code == 204
        assert list(Vehicle.objects.filter(is_default=True).values_list("pk", flat=True)) == [newest.pk]

    def test_another_drivers_vehicle_is_404_and_kept(self, client, other_driver):
        theirs = VehicleFactory(owner=other_driver)

        response = client.delete(detail_url(theirs.pk))

        assert response.status_code == 404
        assert response.json() == NOT_FOUND
        assert list(Vehicle.objects.values_list("pk", "is_default")) == [(theirs.pk, True)]


class TestPlatesStayOutOfLogsAndErrors:
    # Letters outside hex, so no UUID in the output can contain it by chance.
    PLATE = "QX 47 ZK"
    NORMALISED = "QX47ZK"

    def _assert_absent(self, text: str) -> None:
        # Whatever the spelling: upper/lower case, with or without spaces and dashes.
        assert self.NORMALISED not in text.upper().replace(" ", "").replace("-", "")

    def test_logs_and_error_bodies_never_contain_the_plate(self, client, driver, caplog):
        caplog.set_level(logging.DEBUG)

        created = client.post(LIST_URL, {"plate": self.PLATE, "vehicle_type": "van"})
        duplicate = client.post(LIST_URL, {"plate": self.PLATE.lower(), "vehicle_type": "van"})
        invalid = client.post(LIST_URL, {"plate": self.PLATE + "!", "vehicle_type": "van"})
        bad_type = client.post(LIST_URL, {"plate": "QX-47-ZK", "vehicle_type": "tank"})
        vehicle_id = created.json()["id"]
        patched_dup = client.patch(detail_url(VehicleFactory(owner=driver).pk), {"plate": self.PLATE, "nickname": "x"})
        deleted = client.delete(detail_url(vehicle_id))

        assert [r.status_code for r in (created, duplicate, invalid, bad_type, patched_dup, deleted)] == [
            201,
            400,
            400,
            400,
            400,
            204,
        ]
        for response in (duplicate, invalid, bad_type, patched_dup):
            self._assert_absent(response.content.decode())
        messages = [record.getMessage() for record in caplog.records]
        assert f"vehicle_created vehicle_id={vehicle_id} owner_id={driver.pk} is_default=True" in messages
        assert any(message.startswith(f"vehicle_deleted vehicle_id={vehicle_id} ") for message in messages)
        assert any(record.name == "django.request" and record.levelno == logging.WARNING for record in caplog.records)
        self._assert_absent(caplog.text)
        self._assert_absent("\n".join(messages))

    def test_undecryptable_plate_is_a_500_that_leaks_nothing(self, driver, auth_client, settings, caplog):
        vehicle = VehicleFactory(owner=driver, plate=self.PLATE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT plate, plate_index FROM vehicles_vehicle WHERE id = %s", [vehicle.pk])
            ciphertext, plate_index = cursor.fetchone()
        settings.PLATE_ENCRYPTION_KEYS = [UNRELATED_KEY]
        client = auth_client(driver)
        client.raise_request_exception = False
        caplog.set_level(logging.DEBUG)

        response = client.get(detail_url(vehicle.pk))

        assert response.status_code == 500
        assert response.json() == error("error", "Server Error (500)", None, kind="server_error")
        body = response.content.decode()
        self._assert_absent(body)
        self._assert_absent(caplog.text)
        for secret in (ciphertext, plate_index):
            assert secret not in body
            assert secret not in caplog.text
        assert "PlateDecryptionError" in caplog.text  # loud in the server log, without the value
