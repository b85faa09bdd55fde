"""The encrypted licence plate column.

Written in-house instead of using a package (ARCHITECTURE §2/§7, shared/STACK.md): the obvious
candidate, django-fernet-encrypted-fields, derives its keys from ``SECRET_KEY`` (so rotating the
Django secret makes every plate unreadable, and the plates are only as secret as the session signing
key) and its ``to_python`` swallows ``InvalidToken`` and returns the ciphertext as if it were the
value, i.e. a wrong key fails silently. The other packages either do the same, index with an
unkeyed hash, or are unmaintained. This field is small: dedicated keys (``PLATE_ENCRYPTION_KEYS``,
``MultiFernet`` for rotation), and a loud ``PlateDecryptionError`` whenever a value cannot be decrypted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from .plates import plate_decrypt, plate_encrypt


class EncryptedPlateField(models.TextField):
    """Holds the plate as plain ``str`` in Python and as a Fernet token (text) in the database.

    * Writes encrypt under the first key of ``PLATE_ENCRYPTION_KEYS``; reads decrypt with any of
      them and raise ``PlateDecryptionError`` otherwise — never return the token.
    * Ciphertexts are randomised, so the column cannot be searched or compared: every lookup except
      ``isnull`` is refused. Find plates through the blind index column (``plate_blind_index``).
    * The value is whatever the caller assigned; normalisation is the service's job.
    * ``dumpdata`` serialises the decrypted value (it calls ``value_to_string``): treat fixtures
      exported from a real database as personal data.
    """

    description = "Licence plate, encrypted with MultiFernet (PLATE_ENCRYPTION_KEYS)"

    def from_db_value(self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper) -> str | None:
        if value is None:
            return None
        return plate_decrypt(value)

    def to_python(self, value: Any) -> str | None:
        # Forms and deserialisation hand over the plaintext already.
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value: Any) -> str | None:
        plaintext = self.to_python(super().get_prep_value(value))
        if plaintext is None:
            return None
        return plate_encrypt(plaintext)

    def get_lookup(self, lookup_name: str) -> Any:
        # ``exact`` & co. would compare against a fresh random ciphertext and silently match nothing.
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.CharField, "widget": forms.TextInput, **kwargs})
