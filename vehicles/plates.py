"""Licence plates: normalisation, encryption at rest and the keyed blind index (ARCHITECTURE §7).

* ``normalize_plate`` gives the one canonical spelling every other function works on.
* ``plate_encrypt`` / ``plate_decrypt`` / ``plate_rotate`` wrap a ``MultiFernet`` built from
  ``settings.PLATE_ENCRYPTION_KEYS`` (the first key encrypts, every key decrypts).
* ``plate_blind_index`` is the HMAC-SHA256 (key ``settings.PLATE_INDEX_KEY``) of the normalised plate,
  hex encoded: the only way to find a vehicle by plate (services, admin search, gate lookups).

Plates are personal data: nothing in this module logs, and no error message contains a plate, a
ciphertext or a key. Functions that hold a plate in a local variable are marked
``sensitive_variables`` so Django's error reports do not show it either.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from .exceptions import InvalidPlateError, PlateDecryptionError

PLATE_MAX_LENGTH = 15
# Letters of any script (plates exist in Cyrillic, Arabic, Japanese kana …) and decimal digits.
_ALLOWED_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})


# ----------------------------------------------------------------------------------- normalisation
def _is_separator(char: str) -> bool:
    # Spaces (any Unicode white space), dashes (any Unicode dash punctuation: -, ‐, –, — …) and dots.
    return char.isspace() or char == "." or unicodedata.category(char) == "Pd"


def _fold(text: str) -> str:
    # NFKC maps compatibility forms (full-width "ＡＢ１", ligatures, "．", "－") to plain ones; it runs
    # again after upper() because case mapping can produce a string that is not NFKC-normal.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
    return "".join(char for char in folded if not _is_separator(char))


@sensitive_variables()
def normalize_plate(raw: str) -> str:
    """The canonical spelling of a plate: NFKC, upper case, without spaces, dashes and dots.

    ``"ab-12 cd"``, ``"AB.12.CD"`` and full-width ``"ＡＢ１２ＣＤ"`` all give ``"AB12CD"``. The result is
    1 to ``PLATE_MAX_LENGTH`` letters or digits; anything else raises ``InvalidPlateError`` (a 400 on
    ``plate``) whose message does not repeat the input. Idempotent: ``normalize_plate`` of a result is
    the result.
    """
    if not isinstance(raw, str):
        raise InvalidPlateError()
    plate = _fold(raw)
    # Removing a separator can join characters that NFKC then composes (Hangul jamo, for example);
    # folding to a fixed point keeps the function idempotent. Two rounds are enough in practice.
    for _ in range(4):
        again = _fold(plate)
        if again == plate:
            break
        plate = again
    if not plate:
        raise InvalidPlateError("Enter a licence plate.")
    if len(plate) > PLATE_MAX_LENGTH:
        raise InvalidPlateError(f"A licence plate has at most {PLATE_MAX_LENGTH} letters and digits.")
    if any(unicodedata.category(char) not in _ALLOWED_CATEGORIES for char in plate):
        raise InvalidPlateError(
            "A licence plate may contain only letters and digits (spaces, dashes and dots are ignored)."
        )
    return plate


# ----------------------------------------------------------------------------------- blind index
def _index_key() -> bytes:
    key = settings.PLATE_INDEX_KEY
    if not isinstance(key, str) or not key:
        raise ImproperlyConfigured(
            "PLATE_INDEX_KEY is not set: it is the secret for the licence plate blind index "
            "(a long random string, separate from SECRET_KEY and PLATE_ENCRYPTION_KEYS)."
        )
    return key.encode("utf-8")


@sensitive_variables()
def plate_blind_index(normalized: str) -> str:
    """HMAC-SHA256 under ``PLATE_INDEX_KEY`` of a normalised plate, as 64 lower-case hex characters.

    The single definition of the index: the services, the admin search and gate lookups must all
    call this. Pass the output of ``normalize_plate``; anything else raises ``ValueError`` so a raw
    spelling can never silently miss.
    """
    if normalize_plate(normalized) != normalized:
        raise ValueError("plate_blind_index() takes a normalised plate; call normalize_plate() first.")
    return hmac.new(_index_key(), normalized.encode("utf-8"), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------- encryption
class _PlateCipher(NamedTuple):
    multi: MultiFernet  # decrypts with every key, encrypts and rotates to the first
    primary: Fernet  # the first key alone: tells whether a token is already current


@lru_cache(maxsize=1)
def _cipher_for(keys: tuple[str, ...]) -> _PlateCipher:
    fernets = []
    for position, key in enumerate(keys):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # The key itself is never part of the message.
            raise ImproperlyConfigured(
                f"PLATE_ENCRYPTION_KEYS[{position}] is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes; generate one with Fernet.generate_key())."
            ) from None
    return _PlateCipher(multi=MultiFernet(fernets), primary=fernets[0])


def _cipher() -> _PlateCipher:
    # The cache is keyed by the key list itself, so a settings change (override_settings, the
    # ``settings`` fixture, a rotation) builds a new cipher on the next call; no signal is needed.
    raw_keys = settings.PLATE_ENCRYPTION_KEYS
    if isinstance(raw_keys, str):
        raw_keys = raw_keys.split(",")
    keys = tuple(str(key).strip() for key in raw_keys or () if str(key).strip())
    if not keys:
        raise ImproperlyConfigured(
            "PLATE_ENCRYPTION_KEYS is not set: give one or more Fernet keys, comma separated "
            "(the first encrypts, all decrypt); generate one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
        )
    return _cipher_for(keys)


def plate_fernet() -> MultiFernet:
    """The ``MultiFernet`` for the current ``settings.PLATE_ENCRYPTION_KEYS`` (first encrypts, all decrypt)."""
    return _cipher().multi


@sensitive_variables()
def plate_encrypt(plate: str) -> str:
    """A Fernet token (ASCII text) of ``plate`` under the first key."""
    return plate_fernet().encrypt(plate.encode("utf-8")).decode("ascii")


@sensitive_variables()
def plate_decrypt(token: str) -> str:
    """The plate in ``token``; ``PlateDecryptionError`` if no configured key opens it. Never the token."""
    try:
        return plate_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise PlateDecryptionError() from None


def plate_token_is_current(token: str) -> bool:
    """True when ``token`` is already encrypted under the first (current) key."""
    try:
        _cipher().primary.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def plate_rotate(token: str) -> str:
    """``token`` re-encrypted under the first key (``MultiFernet.rotate``: keeps the timestamp)."""
    try:
        return plate_fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise PlateDecryptionError() from None
