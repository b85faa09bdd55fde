import uuid

import pytest

from app.exceptions import NotFoundError
from vehicles.plates import plate_blind_index
from vehicles.selectors import vehicle_get, vehicle_list, vehicle_plate_taken

from .factories import VehicleFactory

pytestmark = pytest.mark.django_db


def test_vehicle_list_is_scoped_to_the_owner_newest_first(driver, other_driver):
    first = VehicleFactory(owner=driver)
    second = VehicleFactory(owner=driver)
    VehicleFactory(owner=other_driver)

    assert list(vehicle_list(owner=driver)) == [second, first]


def test_vehicle_get_returns_own_vehicle(driver):
    vehicle = VehicleFactory(owner=driver)

    assert vehicle_get(owner=driver, vehicle_id=vehicle.pk) == vehicle


@pytest.mark.parametrize("whose", ["other", "nobody"])
def test_vehicle_get_of_someone_elses_or_unknown_vehicle_is_not_found(driver, other_driver, whose):
    vehicle_id = VehicleFactory(owner=other_driver).pk if whose == "other" else uuid.uuid4()

    with pytest.raises(NotFoundError) as caught:
        vehicle_get(owner=driver, vehicle_id=vehicle_id)

    assert (caught.value.code, caught.value.message, caught.value.http_status) == (
        "not_found",
        "Vehicle not found.",
        404,
    )


def test_vehicle_plate_taken(driver, other_driver):
    vehicle = VehicleFactory(owner=driver, plate="AB12CD")
    index = plate_blind_index("AB12CD")

    assert vehicle_plate_taken(owner=driver, plate_index=index) is True
    assert vehicle_plate_taken(owner=driver, plate_index=index, exclude_id=vehicle.pk) is False
    assert vehicle_plate_taken(owner=other_driver, plate_index=index) is False
