"""Factories. Vehicles are created through ``vehicle_create`` so they obey the same rules as real ones
(normalised plate, blind index, one default per owner)."""

from typing import Any

import factory

from accounts.tests.factories import UserFactory
from vehicles.models import Vehicle, VehicleType
from vehicles.services import vehicle_create


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    owner = factory.SubFactory(UserFactory)
    plate = factory.Sequence(lambda n: f"TST{n:05d}")
    vehicle_type = VehicleType.STANDARD
    nickname = factory.Sequence(lambda n: f"Car {n}")

    @classmethod
    def _create(cls, model_class: type[Vehicle], *args: Any, **kwargs: Any) -> Vehicle:
        return vehicle_create(**kwargs)
