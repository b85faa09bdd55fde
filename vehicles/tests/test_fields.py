import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection

from vehicles.exceptions import PlateDecryptionError
from vehicles.models import Vehicle
from vehicles.plates import plate_blind_index, plate_decrypt, plate_encrypt

from .conftest import K1, K2, UNRELATED_KEY
from .factories import VehicleFactory

pytestmark = pytest.mark.django_db


def _raw_plate_column(vehicle_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT plate FROM vehicles_vehicle WHERE id = %s", [vehicle_id])
        return cursor.fetchone()[0]


class TestStorage:
    def test_column_holds_a_fernet_token_under_the_first_key_not_the_plate(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="ab-12 cd")

        raw = _raw_plate_column(vehicle.pk)

        assert "AB12CD" not in raw.upper()
        assert raw.startswith("gAAAAA")  # Fernet version byte 0x80, base64url
        assert Fernet(K1).decrypt(raw.encode()) == b"AB12CD"

    def test_same_plate_encrypts_differently_but_shares_the_blind_index(self, driver, other_driver):
        first = VehicleFactory(owner=driver, plate="AB12CD")
        second = VehicleFactory(owner=other_driver, plate="ab 12 cd")

        assert _raw_plate_column(first.pk) != _raw_plate_column(second.pk)
        assert first.plate_index == second.plate_index == plate_blind_index("AB12CD")

    def test_reads_back_decrypted_through_every_query_path(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="ＡＢ１２ＣＤ")

        assert Vehicle.objects.get(pk=vehicle.pk).plate == "AB12CD"
        assert list(Vehicle.objects.filter(pk=vehicle.pk).values_list("plate", flat=True)) == ["AB12CD"]
        assert list(Vehicle.objects.filter(pk=vehicle.pk).values("plate")) == [{"plate": "AB12CD"}]
        vehicle.refresh_from_db()
        assert vehicle.plate == "AB12CD"

    def test_queryset_update_encrypts_too(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD")

        Vehicle.objects.filter(pk=vehicle.pk).update(plate="XY99ZZ")

        assert Fernet(K1).decrypt(_raw_plate_column(vehicle.pk).encode()) == b"XY99ZZ"
        assert Vehicle.objects.get(pk=vehicle.pk).plate == "XY99ZZ"

    def test_plate_column_cannot_be_searched(self, driver):
        VehicleFactory(owner=driver, plate="AB12CD")

        with pytest.raises(FieldError, match="Unsupported lookup 'exact'"):
            list(Vehicle.objects.filter(plate="AB12CD"))
        with pytest.raises(FieldError, match="Unsupported lookup 'icontains'"):
            list(Vehicle.objects.filter(plate__icontains="AB"))
        assert Vehicle.objects.filter(plate__isnull=False).count() == 1

    def test_str_and_repr_do_not_contain_the_plate(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD", nickname="AB12CD")

        assert str(vehicle) == f"Standard vehicle {vehicle.pk}"
        assert repr(vehicle) == f"<Vehicle: Standard vehicle {vehicle.pk}>"


class TestKeys:
    def test_unrelated_key_raises_plate_decryption_error_without_leaking(self, driver, settings):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD")
        raw = _raw_plate_column(vehicle.pk)
        settings.PLATE_ENCRYPTION_KEYS = [UNRELATED_KEY]

        with pytest.raises(PlateDecryptionError) as caught:
            Vehicle.objects.get(pk=vehicle.pk)

        message = str(caught.value)
        assert message == (
            "A stored licence plate could not be decrypted with any key in PLATE_ENCRYPTION_KEYS "
            "(wrong or removed key, or a corrupted value)."
        )
        assert "AB12CD" not in message
        assert raw not in message
        assert caught.value.__cause__ is None

    def test_corrupted_value_raises(self, driver):
        vehicle = VehicleFactory(owner=driver, plate="AB12CD")
        with connection.cursor() as cursor:
            cursor.execute("UPDATE vehicles_vehicle SET plate = 'not-a-token' WHERE id = %s", [vehicle.pk])

        with pytest.raises(PlateDecryptionError):
            Vehicle.objects.get(pk=vehicle.pk)
        with pytest.raises(PlateDecryptionError):
            plate_decrypt("gAAAAA" + "x" * 80)

    def test_new_keys_take_effect_without_restart(self, settings):
        token = plate_encrypt("AB12CD")
        settings.PLATE_ENCRYPTION_KEYS = [K2, K1]

        assert plate_decrypt(token) == "AB12CD"
        assert Fernet(K2).decrypt(plate_encrypt("AB12CD").encode()) == b"AB12CD"

    def test_comma_separated_string_is_accepted(self, settings):
        settings.PLATE_ENCRYPTION_KEYS = f"{K2}, {K1}"

        assert Fernet(K2).decrypt(plate_encrypt("AB12CD").encode()) == b"AB12CD"

    @pytest.mark.parametrize("keys", [[], [""], None])
    def test_missing_keys_are_improperly_configured(self, settings, keys):
        settings.PLATE_ENCRYPTION_KEYS = keys

        with pytest.raises(ImproperlyConfigured, match="PLATE_ENCRYPTION_KEYS is not set"):
            plate_encrypt("AB12CD")

    def test_malformed_key_is_improperly_configured_without_echoing_it(self, settings):
        settings.PLATE_ENCRYPTION_KEYS = [K1, "not-a-fernet-key"]

        with pytest.raises(ImproperlyConfigured) as caught:
            plate_encrypt("AB12CD")

        assert str(caught.value).startswith("PLATE_ENCRYPTION_KEYS[1] is not a valid Fernet key")
        assert "not-a-fernet-key" not in str(caught.value)

    def test_saving_without_keys_writes_nothing(self, driver, settings):
        settings.PLATE_ENCRYPTION_KEYS = []

        with pytest.raises(ImproperlyConfigured):
            VehicleFactory(owner=driver, plate="AB12CD")

        assert Vehicle.objects.count() == 0
