import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from app.exceptions import NotFoundError
from vehicles.exceptions import (
    DefaultVehicleRequiredError,
    DuplicatePlateError,
    InvalidCountryError,
    InvalidPlateError,
)
from vehicles.models import Vehicle
from vehicles.plates import plate_blind_index
from vehicles.services import vehicle_create, vehicle_delete, vehicle_update

from .factories import UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def _defaults(owner) -> list:
    return list(Vehicle.objects.filter(owner=owner, is_default=True).values_list("pk", flat=True))


class TestCreate:
    def test_stores_normalised_plate_index_and_fields(self, driver):
        vehicle = vehicle_create(
            owner=driver,
            plate="ab-12 cd",
            vehicle_type="suv",
            country="gb",
            is_ev=True,
            make="Volvo",
            model="XC40",
            color="blue",
            nickname="Family",
        )

        stored = Vehicle.objects.get(pk=vehicle.pk)
        assert stored.owner_id == driver.pk
        assert stored.plate == "AB12CD"
        assert stored.plate_index == plate_blind_index("AB12CD")
        assert stored.country == "GB"
        assert (stored.vehicle_type, stored.is_ev, stored.make, stored.model, stored.color, stored.nickname) == (
            "suv",
            True,
            "Volvo",
            "XC40",
            "blue",
            "Family",
        )

    def test_first_vehicle_becomes_default_even_when_not_asked(self, driver):
        first = vehicle_create(owner=driver, plate="AAA1", vehicle_type="compact", is_default=False)
        second = vehicle_create(owner=driver, plate="BBB2", vehicle_type="compact")

        assert _defaults(driver) == [first.pk]
        assert (first.is_default, second.is_default) == (True, False)

    def test_new_default_unsets_the_previous_one(self, driver):
        first = vehicle_create(owner=driver, plate="AAA1", vehicle_type="compact")
        second = vehicle_create(owner=driver, plate="BBB2", vehicle_type="van", is_default=True)

        assert _defaults(driver) == [second.pk]
        first.refresh_from_db()
        assert first.is_default is False

    def test_defaults_are_per_owner(self, driver, other_driver):
        mine = vehicle_create(owner=driver, plate="AAA1", vehicle_type="compact")
        theirs = vehicle_create(owner=other_driver, plate="BBB2", vehicle_type="compact")

        assert _defaults(driver) == [mine.pk]
        assert _defaults(other_driver) == [theirs.pk]

    @pytest.mark.parametrize("spelling", ["AB12CD", "ab-12 cd", "ＡＢ１２ＣＤ", "a.b.1.2.c.d"])
    def test_same_plate_in_any_spelling_is_a_duplicate_for_the_same_driver(self, driver, spelling):
        vehicle_create(owner=driver, plate="AB12CD", vehicle_type="standard")

        with pytest.raises(DuplicatePlateError) as caught:
            vehicle_create(owner=driver, plate=spelling, vehicle_type="standard")

        assert (caught.value.code, caught.value.attr) == ("duplicate_plate", "plate")
        assert "AB12CD" not in caught.value.message
        assert Vehicle.objects.filter(owner=driver).count() == 1

    def test_same_plate_is_allowed_for_another_driver(self, driver, other_driver):
        vehicle_create(owner=driver, plate="AB12CD", vehicle_type="standard")
        theirs = vehicle_create(owner=other_driver, plate="ab 12 cd", vehicle_type="standard")

        assert theirs.plate == "AB12CD"
        assert Vehicle.objects.filter(plate_index=plate_blind_index("AB12CD")).count() == 2

    def test_integrity_error_race_maps_to_duplicate_plate(self, driver, monkeypatch):
        vehicle_create(owner=driver, plate="AB12CD", vehicle_type="standard")
        # Simulate a concurrent insert that the pre-check could not see.
        monkeypatch.setattr("vehicles.services.vehicle_plate_taken", lambda **kwargs: False)

        with pytest.raises(DuplicatePlateError) as caught:
            vehicle_create(owner=driver, plate="ab-12-cd", vehicle_type="standard")

        assert caught.value.__cause__ is None  # PostgreSQL's DETAIL (the index) is not chained
        assert Vehicle.objects.filter(owner=driver).count() == 1

    def test_invalid_plate_writes_nothing(self, driver):
        with pytest.raises(InvalidPlateError):
            vehicle_create(owner=driver, plate="AB#12", vehicle_type="standard")
        assert Vehicle.objects.count() == 0

    def test_invalid_country_writes_nothing(self, driver):
        with pytest.raises(InvalidCountryError):
            vehicle_create(owner=driver, plate="AB12", vehicle_type="standard", country="XX")
        assert Vehicle.objects.count() == 0

    def test_invalid_vehicle_type_writes_nothing(self, driver):
        with pytest.raises(ValidationError) as caught:
            vehicle_create(owner=driver, plate="AB12", vehicle_type="bus")
        assert list(caught.value.error_dict) == ["vehicle_type"]
        assert caught.value.error_dict["vehicle_type"][0].code == "invalid_choice"
        assert Vehicle.objects.count() == 0

    def test_too_long_nickname_writes_nothing(self, driver):
        with pytest.raises(ValidationError) as caught:
            vehicle_create(owner=driver, plate="AB12", vehicle_type="standard", nickname="x" * 51)
        assert list(caught.value.error_dict) == ["nickname"]
        assert Vehicle.objects.count() == 0


class TestUpdate:
    def test_changes_only_given_fields(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD", nickname="Old", make="Fiat", country="IT")

        updated = vehicle_update(owner=driver, vehicle_id=vehicle.pk, data={"nickname": "New", "country": None})

        stored = Vehicle.objects.get(pk=vehicle.pk)
        assert (stored.nickname, stored.make, stored.country, stored.plate) == ("New", "Fiat", None, "AB12CD")
        assert updated.nickname == "New"
        assert stored.updated_at > vehicle.updated_at

    def test_empty_update_changes_nothing(self, driver):
        vehicle = VehicleFactory(owner=driver)

        vehicle_update(owner=driver, vehicle_id=vehicle.pk, data={})

        assert Vehicle.objects.get(pk=vehicle.pk).updated_at == vehicle.updated_at

    def test_plate_change_re_encrypts_and_re_indexes(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD")

        vehicle_update(owner=driver, vehicle_id=vehicle.pk, data={"plate": "xy 99 zz"})

        stored = Vehicle.objects.get(pk=vehicle.pk)
        assert (stored.plate, stored.plate_index) == ("XY99ZZ", plate_blind_index("XY99ZZ"))

    def test_same_plate_in_another_spelling_is_not_a_duplicate_of_itself(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD")

        vehicle_update(owner=driver, vehicle_id=vehicle.pk, data={"plate": "ab-12-cd"})

        assert Vehicle.objects.get(pk=vehicle.pk).plate == "AB12CD"

    def test_plate_of_another_own_vehicle_is_a_duplicate(self, driver):
        VehicleFactory(owner=driver, plate="AB12CD")
        vehicle = VehicleFactory(owner=driver, plate="XY99ZZ", nickname="Second")

        with pytest.raises(DuplicatePlateError):
            vehicle_update(owner=driver, vehicle_id=vehicle.pk, data={"plate": "ab12cd", "nickname": "Changed"})

        stored = Vehicle.objects.get(pk=vehicle.pk)
        assert (stored.plate, stored.nickname) == ("XY99ZZ", "Second")

    def test_setting_default_moves_it(self, driver):
        first = VehicleFactory(owner=driver)
        second = VehicleFactory(owner=driver)

        vehicle_update(owner=driver, vehicle_id=second.pk, data={"is_default": True})

        assert _defaults(driver) == [second.pk]
        assert Vehicle.objects.get(pk=first.pk).is_default is False

    def test_setting_default_on_the_default_is_a_no_op(self, driver):
        first = VehicleFactory(owner=driver)

        vehicle_update(owner=driver, vehicle_id=first.pk, data={"is_default": True})

        assert _defaults(driver) == [first.pk]

    def test_unsetting_the_default_is_refused(self, driver):
        first = VehicleFactory(owner=driver, nickname="Keep")
        VehicleFactory(owner=driver)

        with pytest.raises(DefaultVehicleRequiredError) as caught:
            vehicle_update(owner=driver, vehicle_id=first.pk, data={"is_default": False, "nickname": "Changed"})

        assert (caught.value.code, caught.value.attr) == ("default_required", "is_default")
        assert _defaults(driver) == [first.pk]
        assert Vehicle.objects.get(pk=first.pk).nickname == "Keep"

    def test_is_default_false_on_a_non_default_is_fine(self, driver):
        first = VehicleFactory(owner=driver)
        second = VehicleFactory(owner=driver)

        vehicle_update(owner=driver, vehicle_id=second.pk, data={"is_default": False, "nickname": "x"})

        assert _defaults(driver) == [first.pk]

    def test_another_drivers_vehicle_is_not_found_and_unchanged(self, driver, other_driver):
        theirs = VehicleFactory(owner=other_driver, nickname="Theirs")

        with pytest.raises(NotFoundError):
            vehicle_update(owner=driver, vehicle_id=theirs.pk, data={"nickname": "Mine now"})

        assert Vehicle.objects.get(pk=theirs.pk).nickname == "Theirs"


class TestDelete:
    def test_deleting_the_default_promotes_the_most_recently_created(self, driver):
        with time_machine.travel(datetime(2026, 1, 1, 9, tzinfo=UTC), tick=False):
            oldest = VehicleFactory(owner=driver)
        with time_machine.travel(datetime(2026, 1, 3, 9, tzinfo=UTC), tick=False):
            newest = VehicleFactory(owner=driver)
        with time_machine.travel(datetime(2026, 1, 2, 9, tzinfo=UTC), tick=False):
            middle = VehicleFactory(owner=driver)
        assert _defaults(driver) == [oldest.pk]

        promoted = vehicle_delete(owner=driver, vehicle_id=oldest.pk)

        assert promoted is not None
        assert promoted.pk == newest.pk
        assert _defaults(driver) == [newest.pk]
        assert set(Vehicle.objects.values_list("pk", flat=True)) == {newest.pk, middle.pk}

    def test_deleting_a_non_default_keeps_the_default(self, driver):
        first = VehicleFactory(owner=driver)
        second = VehicleFactory(owner=driver)

        assert vehicle_delete(owner=driver, vehicle_id=second.pk) is None

        assert _defaults(driver) == [first.pk]
        assert list(Vehicle.objects.values_list("pk", flat=True)) == [first.pk]

    def test_deleting_the_last_vehicle(self, driver):
        only = VehicleFactory(owner=driver)

        assert vehicle_delete(owner=driver, vehicle_id=only.pk) is None

        assert Vehicle.objects.count() == 0

    def test_another_drivers_vehicle_is_not_found_and_kept(self, driver, other_driver):
        theirs = VehicleFactory(owner=other_driver)

        with pytest.raises(NotFoundError):
            vehicle_delete(owner=driver, vehicle_id=theirs.pk)

        assert Vehicle.objects.filter(pk=theirs.pk).exists()


class TestDatabaseConstraints:
    """The rules hold even for writes that bypass the services."""

    def test_second_default_for_an_owner_is_rejected(self, driver):
        VehicleFactory(owner=driver)
        with pytest.raises(IntegrityError, match="vehicle_one_default_per_owner"), transaction.atomic():
            Vehicle.objects.create(
                owner=driver, plate="ZZ1", plate_index=plate_blind_index("ZZ1"), vehicle_type="van", is_default=True
            )

    def test_same_plate_twice_for_an_owner_is_rejected(self, driver):
        VehicleFactory(owner=driver, plate="AB12CD")
        with pytest.raises(IntegrityError, match="vehicle_owner_plate_unique"), transaction.atomic():
            Vehicle.objects.create(
                owner=driver, plate="AB12CD", plate_index=plate_blind_index("AB12CD"), vehicle_type="van"
            )

    @pytest.mark.parametrize(
        ("field", "value", "constraint"),
        [
            ("vehicle_type", "bus", "vehicle_vehicle_type_valid"),
            ("country", "gb", "vehicle_country_iso"),
            ("plate_index", "AB12CD", "vehicle_plate_index_hex"),
        ],
    )
    def test_check_constraints(self, driver, field, value, constraint):
        values = {"owner": driver, "plate": "AB12CD", "plate_index": plate_blind_index("AB12CD"), "vehicle_type": "van"}
        values[field] = value
        with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
            Vehicle.objects.create(**values)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    """Real parallel connections: the owner-row lock serialises the default decision."""

    def _run_in_threads(self, count, target):
        barrier = threading.Barrier(count)
        errors: list[BaseException] = []

        def worker(index):
            try:
                barrier.wait()
                target(index)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return errors

    def test_concurrent_first_vehicles_give_exactly_one_default(self):
        owner = UserFactory()

        errors = self._run_in_threads(
            8, lambda index: vehicle_create(owner=owner, plate=f"RACE{index}", vehicle_type="compact")
        )

        assert errors == []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE is_default) FROM vehicles_vehicle WHERE owner_id = %s",
                [owner.pk],
            )
            assert cursor.fetchone() == (8, 1)

    def test_concurrent_same_plate_gives_one_row_and_duplicate_errors(self):
        owner = UserFactory()

        errors = self._run_in_threads(
            6,
            lambda index: vehicle_create(
                owner=owner, plate=["AB12CD", "ab-12 cd", "ＡＢ１２ＣＤ"][index % 3], vehicle_type="van"
            ),
        )

        assert [type(error) for error in errors] == [DuplicatePlateError] * 5
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM vehicles_vehicle WHERE owner_id = %s", [owner.pk])
            assert cursor.fetchone() == (1,)

    def test_concurrent_default_switches_leave_exactly_one_default(self):
        owner = UserFactory()
        vehicles = [vehicle_create(owner=owner, plate=f"SW{index}", vehicle_type="compact") for index in range(6)]

        errors = self._run_in_threads(
            6, lambda index: vehicle_update(owner=owner, vehicle_id=vehicles[index].pk, data={"is_default": True})
        )

        assert errors == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM vehicles_vehicle WHERE owner_id = %s AND is_default", [owner.pk])
            assert cursor.fetchone() == (1,)
