import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.models import User
from vehicles.models import Vehicle
from vehicles.plates import plate_blind_index

from .factories import VehicleFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:vehicles_vehicle_changelist"


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser(email="admin@example.com", password="admin-pass-123")
    client.force_login(admin)
    return client


def _form(owner, **overrides):
    data = {
        "owner": str(owner.pk),
        "plate": "AB12CD",
        "country": "",
        "vehicle_type": "standard",
        "make": "",
        "model": "",
        "color": "",
        "nickname": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _result_ids(response) -> set:
    return {vehicle.pk for vehicle in response.context["cl"].result_list}


class TestChangelist:
    def test_lists_vehicles_with_owner_email(self, admin_client, driver):
        VehicleFactory(owner=driver, nickname="Family car")

        response = admin_client.get(reverse(CHANGELIST))

        assert response.status_code == 200
        content = response.content.decode()
        assert "Family car" in content
        assert "driver@example.com" in content

    @pytest.mark.parametrize("term", ["AB12CD", "ab-12 cd", "ＡＢ１２ＣＤ", " ab.12.cd "])
    def test_search_by_exact_plate_in_any_spelling(self, admin_client, driver, other_driver, term):
        mine = VehicleFactory(owner=driver, plate="AB12CD")
        theirs = VehicleFactory(owner=other_driver, plate="AB12CD")
        VehicleFactory(owner=driver, plate="AB12CE")

        response = admin_client.get(reverse(CHANGELIST), {"q": term})

        assert _result_ids(response) == {mine.pk, theirs.pk}

    def test_search_by_partial_plate_finds_nothing(self, admin_client, driver):
        VehicleFactory(owner=driver, plate="AB12CD")

        response = admin_client.get(reverse(CHANGELIST), {"q": "AB12"})

        assert _result_ids(response) == set()

    def test_search_by_owner_email(self, admin_client, driver, other_driver):
        mine = VehicleFactory(owner=driver)
        VehicleFactory(owner=other_driver)

        response = admin_client.get(reverse(CHANGELIST), {"q": "driver@example"})

        assert _result_ids(response) == {mine.pk}

    def test_filter_by_vehicle_type(self, admin_client, driver):
        van = VehicleFactory(owner=driver, vehicle_type="van")
        VehicleFactory(owner=driver, vehicle_type="suv")

        response = admin_client.get(reverse(CHANGELIST), {"vehicle_type__exact": "van"})

        assert _result_ids(response) == {van.pk}


class TestAddChangeDelete:
    def test_add_goes_through_the_service(self, admin_client, driver):
        existing = VehicleFactory(owner=driver)

        response = admin_client.post(
            reverse("admin:vehicles_vehicle_add"),
            _form(driver, plate="xy-99 zz", country="de", make_default="on", nickname="Admin added"),
        )

        assert response.status_code == 302, response.context["adminform"].form.errors
        added = Vehicle.objects.get(nickname="Admin added")
        assert (added.plate, added.plate_index, added.country, added.is_default) == (
            "XY99ZZ",
            plate_blind_index("XY99ZZ"),
            "DE",
            True,
        )
        existing.refresh_from_db()
        assert existing.is_default is False
        entry = LogEntry.objects.get()
        assert entry.object_id == str(added.pk)
        assert entry.object_repr == f"Standard vehicle {added.pk}"

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"plate": "ab 12 cd"}, "plate", "You already have a vehicle with this licence plate."),
            (
                {"plate": "AB#1"},
                "plate",
                "A licence plate may contain only letters and digits (spaces, dashes and dots are ignored).",
            ),
            ({"country": "XX"}, "country", "Enter an ISO 3166-1 alpha-2 country code, such as DE or IN."),
        ],
    )
    def test_add_shows_service_rules_as_form_errors(self, admin_client, driver, overrides, field, message):
        VehicleFactory(owner=driver, plate="AB12CD")

        response = admin_client.post(
            reverse("admin:vehicles_vehicle_add"), _form(driver, **{"plate": "NEW1", **overrides})
        )

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {field: [message]}
        assert Vehicle.objects.count() == 1

    def test_add_reports_every_invalid_field_at_once(self, admin_client, driver):
        response = admin_client.post(reverse("admin:vehicles_vehicle_add"), _form(driver, plate="AB#1", country="XX"))

        assert response.status_code == 200
        assert set(response.context["adminform"].form.errors) == {"plate", "country"}
        assert Vehicle.objects.count() == 0

    def test_change_page_shows_the_decrypted_plate(self, admin_client, driver):
        vehicle = VehicleFactory(owner=driver, plate="ab-12 cd")

        response = admin_client.get(reverse("admin:vehicles_vehicle_change", args=[vehicle.pk]))

        assert response.status_code == 200
        assert response.context["adminform"].form.initial["plate"] == "AB12CD"

    def test_change_goes_through_the_service(self, admin_client, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD", nickname="Old")

        response = admin_client.post(
            reverse("admin:vehicles_vehicle_change", args=[vehicle.pk]),
            _form(driver, plate="AB12CD", nickname="New", make_default="on", vehicle_type="van"),
        )

        assert response.status_code == 302
        vehicle.refresh_from_db()
        assert (vehicle.plate, vehicle.nickname, vehicle.vehicle_type, vehicle.is_default) == (
            "AB12CD",
            "New",
            "van",
            True,
        )
        assert LogEntry.objects.get().get_change_message() == "Changed Vehicle type and Nickname."

    def test_unchecking_the_default_is_a_form_error(self, admin_client, driver):
        vehicle = VehicleFactory(owner=driver, nickname="Keep")

        response = admin_client.post(
            reverse("admin:vehicles_vehicle_change", args=[vehicle.pk]),
            _form(driver, plate=vehicle.plate, nickname="x"),
        )

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {
            "make_default": ["One vehicle must stay the default: make another vehicle the default instead."]
        }
        vehicle.refresh_from_db()
        assert (vehicle.is_default, vehicle.nickname) == (True, "Keep")

    def test_delete_goes_through_the_service_and_promotes(self, admin_client, driver):
        default = VehicleFactory(owner=driver)
        other = VehicleFactory(owner=driver)

        response = admin_client.post(reverse("admin:vehicles_vehicle_delete", args=[default.pk]), {"post": "yes"})

        assert response.status_code == 302
        assert list(Vehicle.objects.values_list("pk", "is_default")) == [(other.pk, True)]

    def test_bulk_delete_action_goes_through_the_service(self, admin_client, driver):
        default = VehicleFactory(owner=driver)
        middle = VehicleFactory(owner=driver)
        kept = VehicleFactory(owner=driver)

        response = admin_client.post(
            reverse(CHANGELIST),
            {"action": "delete_selected", "_selected_action": [str(default.pk), str(middle.pk)], "post": "yes"},
        )

        assert response.status_code == 302
        assert list(Vehicle.objects.values_list("pk", "is_default")) == [(kept.pk, True)]
