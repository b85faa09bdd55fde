from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from vehicles.exceptions import PlateDecryptionError
from vehicles.models import Vehicle

from .conftest import K1, K2, UNRELATED_KEY
from .factories import VehicleFactory

pytestmark = pytest.mark.django_db

PLATES = ["AB12CD", "XY99ZZ", "K1", "M123OK", "HH1234"]


def _raw_tokens() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, plate FROM vehicles_vehicle")
        return dict(cursor.fetchall())


def _reencrypt(*args: str) -> str:
    out = StringIO()
    call_command("reencrypt_plates", *args, stdout=out)
    return out.getvalue()


def _plates_by_id() -> dict:
    return dict(Vehicle.objects.values_list("pk", "plate"))


@pytest.fixture
def vehicles_under_k1(driver):
    """Five vehicles written while PLATE_ENCRYPTION_KEYS = [K1]."""
    vehicles = [VehicleFactory(owner=driver, plate=plate) for plate in PLATES]
    return {vehicle.pk: vehicle.plate for vehicle in vehicles}


class TestKeyRotation:
    def test_full_rotation(self, settings, vehicles_under_k1):
        # Given rows written under K1, K2 is put in front: everything still reads.
        settings.PLATE_ENCRYPTION_KEYS = [K2, K1]
        assert _plates_by_id() == vehicles_under_k1
        before = _raw_tokens()

        # When the command runs (in batches of 2), every row is rewritten under K2.
        output = _reencrypt("--batch-size", "2")

        assert output == "Re-encrypted 5 of 5 vehicle plates under the current key.\n"
        after = _raw_tokens()
        assert set(after) == set(before)
        assert all(after[pk] != before[pk] for pk in after)
        assert {pk: Fernet(K2).decrypt(token.encode()).decode() for pk, token in after.items()} == vehicles_under_k1

        # Then K1 can be dropped: K2 alone reads every row.
        settings.PLATE_ENCRYPTION_KEYS = [K2]
        assert _plates_by_id() == vehicles_under_k1

        # And an unrelated key reads nothing.
        settings.PLATE_ENCRYPTION_KEYS = [UNRELATED_KEY]
        with pytest.raises(PlateDecryptionError):
            list(Vehicle.objects.all())

    def test_is_idempotent(self, settings, vehicles_under_k1):
        settings.PLATE_ENCRYPTION_KEYS = [K2, K1]
        assert _reencrypt() == "Re-encrypted 5 of 5 vehicle plates under the current key.\n"
        tokens = _raw_tokens()

        assert _reencrypt() == "Re-encrypted 0 of 5 vehicle plates under the current key.\n"

        assert _raw_tokens() == tokens

    def test_only_rows_under_old_keys_are_rewritten(self, settings, driver, vehicles_under_k1):
        settings.PLATE_ENCRYPTION_KEYS = [K2, K1]
        newer = VehicleFactory(owner=driver, plate="NEW2")  # already under K2
        token = _raw_tokens()[newer.pk]

        assert _reencrypt("--batch-size", "500") == "Re-encrypted 5 of 6 vehicle plates under the current key.\n"

        assert _raw_tokens()[newer.pk] == token

    def test_does_not_touch_updated_at(self, settings, vehicles_under_k1):
        stamps = dict(Vehicle.objects.values_list("pk", "updated_at"))
        settings.PLATE_ENCRYPTION_KEYS = [K2, K1]

        _reencrypt()

        assert dict(Vehicle.objects.values_list("pk", "updated_at")) == stamps

    def test_empty_table(self):
        assert _reencrypt() == "Re-encrypted 0 of 0 vehicle plates under the current key.\n"

    def test_undecryptable_row_fails_loudly_and_rolls_back_its_batch(self, settings, vehicles_under_k1):
        ordered_ids = sorted(vehicles_under_k1)
        broken = ordered_ids[3]  # in the second batch of 2
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE vehicles_vehicle SET plate = %s WHERE id = %s",
                [Fernet(UNRELATED_KEY).encrypt(b"AB12CD").decode(), broken],
            )
        before = _raw_tokens()
        settings.PLATE_ENCRYPTION_KEYS = [K2, K1]

        with pytest.raises(CommandError) as caught:
            _reencrypt("--batch-size", "2")

        assert str(caught.value) == (
            f"The plate of vehicle {broken} cannot be decrypted with any key in PLATE_ENCRYPTION_KEYS; its batch "
            "was rolled back. 2 plates were re-encrypted before it; fix the keys and run the command again."
        )
        after = _raw_tokens()
        assert [after[pk] != before[pk] for pk in ordered_ids] == [True, True, False, False, False]

    def test_missing_keys_fail_before_touching_rows(self, settings, vehicles_under_k1):
        before = _raw_tokens()
        settings.PLATE_ENCRYPTION_KEYS = []

        with pytest.raises(ImproperlyConfigured, match="PLATE_ENCRYPTION_KEYS is not set"):
            _reencrypt()

        assert _raw_tokens() == before

    def test_batch_size_must_be_positive(self):
        with pytest.raises(CommandError, match="--batch-size must be at least 1"):
            _reencrypt("--batch-size", "0")
