import hashlib
import hmac
import unicodedata
from importlib import resources

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import assume, example, given
from hypothesis import strategies as st

from vehicles.countries import ISO_3166_ALPHA2, normalize_country
from vehicles.exceptions import InvalidCountryError, InvalidPlateError
from vehicles.plates import PLATE_MAX_LENGTH, normalize_plate, plate_blind_index

INDEX_KEY = b"test-plate-index-key"

plate_chars = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
canonical_plates = st.text(plate_chars, min_size=1, max_size=PLATE_MAX_LENGTH)
separators = st.sampled_from([" ", "-", ".", "\u3000", "\u2013", "\u00a0", "\uff0d", "\uff0e", "\t"])


def _fullwidth(char: str) -> str:
    return chr(ord(char) + 0xFEE0)  # "A" → "Ａ", "1" → "１"


@st.composite
def spellings(draw, plate_strategy=canonical_plates):
    """A canonical plate and one way a driver might type it: any case, full-width forms, separators."""
    plate = draw(plate_strategy)
    out = []
    for char in plate:
        if draw(st.booleans()):
            out.append(draw(st.lists(separators, max_size=2)))
        style = draw(st.sampled_from(["upper", "lower", "fullwidth", "fullwidth_lower"]))
        if style == "lower":
            char = char.lower()
        elif style == "fullwidth":
            char = _fullwidth(char)
        elif style == "fullwidth_lower":
            char = _fullwidth(char.lower())
        out.append([char])
    out.append(draw(st.lists(separators, max_size=2)))
    return plate, "".join(piece for group in out for piece in group)


class TestNormalizePlate:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("ab-12 cd", "AB12CD"),
            ("AB12CD", "AB12CD"),
            ("ＡＢ１２ＣＤ", "AB12CD"),
            ("  ab.12.cd  ", "AB12CD"),
            ("MH 12 AB 1234", "MH12AB1234"),
            ("mh-12-ab-1234", "MH12AB1234"),
            ("b–123 xy", "B123XY"),  # en dash
            ("ﬁ 1", "FI1"),  # ligature decomposed by NFKC
            ("м 123 ок", "М123ОК"),  # Cyrillic letters are letters
            ("123456789012345", "123456789012345"),
        ],
    )
    def test_normalises_known_spellings(self, raw, expected):
        assert normalize_plate(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("", "Enter a licence plate."),
            (" - . ", "Enter a licence plate."),
            ("1234567890123456", "A licence plate has at most 15 letters and digits."),
            ("AB12CD!", "A licence plate may contain only letters and digits (spaces, dashes and dots are ignored)."),
            ("AB_12", "A licence plate may contain only letters and digits (spaces, dashes and dots are ignored)."),
            ("AB/12", "A licence plate may contain only letters and digits (spaces, dashes and dots are ignored)."),
        ],
    )
    def test_rejects_invalid_plates_without_echoing_them(self, raw, message):
        with pytest.raises(InvalidPlateError) as caught:
            normalize_plate(raw)
        assert caught.value.message == message
        assert caught.value.code == "invalid_plate"
        assert caught.value.attr == "plate"
        if raw.strip(" -."):
            assert raw not in str(caught.value)

    def test_rejects_non_string(self):
        with pytest.raises(InvalidPlateError):
            normalize_plate(12345)  # type: ignore[arg-type]

    @given(st.text(max_size=40))
    @example("ᄀ-ᅡ")  # Hangul jamo that NFKC composes once the dash between them is gone
    @example("ǰ")  # upper() gives J + combining caron
    def test_normalisation_is_idempotent(self, raw):
        try:
            once = normalize_plate(raw)
        except InvalidPlateError:
            return
        assert normalize_plate(once) == once
        assert 1 <= len(once) <= PLATE_MAX_LENGTH
        assert all(unicodedata.category(char) in {"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"} for char in once)

    @given(spellings())
    def test_every_spelling_normalises_to_the_canonical_plate(self, case):
        plate, typed = case
        assert normalize_plate(typed) == plate


class TestBlindIndex:
    def test_is_hmac_sha256_hex_of_the_normalised_plate_under_the_index_key(self):
        expected = hmac.new(INDEX_KEY, b"AB12CD", hashlib.sha256).hexdigest()
        assert plate_blind_index("AB12CD") == expected
        assert len(expected) == 64

    @given(spellings(), spellings())
    def test_equivalent_spellings_share_an_index_and_different_plates_do_not(self, first, second):
        (plate_a, typed_a), (plate_b, typed_b) = first, second
        index_a = plate_blind_index(normalize_plate(typed_a))
        assert index_a == plate_blind_index(plate_a)
        assume(plate_a != plate_b)
        assert index_a != plate_blind_index(normalize_plate(typed_b))

    def test_refuses_a_raw_spelling(self):
        with pytest.raises(ValueError, match="takes a normalised plate"):
            plate_blind_index("ab-12 cd")

    def test_depends_on_the_index_key(self, settings):
        before = plate_blind_index("AB12CD")
        settings.PLATE_INDEX_KEY = "another-index-key"
        assert plate_blind_index("AB12CD") == hmac.new(b"another-index-key", b"AB12CD", hashlib.sha256).hexdigest()
        assert plate_blind_index("AB12CD") != before

    def test_missing_index_key_is_improperly_configured(self, settings):
        settings.PLATE_INDEX_KEY = ""
        with pytest.raises(ImproperlyConfigured, match="PLATE_INDEX_KEY is not set"):
            plate_blind_index("AB12CD")


class TestCountries:
    def test_list_matches_the_tz_database_iso3166_table(self):
        table = (resources.files("tzdata") / "zoneinfo" / "iso3166.tab").read_text(encoding="utf-8")
        codes = {line.split("\t")[0] for line in table.splitlines() if line and not line.startswith("#")}
        assert codes == ISO_3166_ALPHA2
        assert len(ISO_3166_ALPHA2) == 249

    @pytest.mark.parametrize(
        ("raw", "expected"), [("DE", "DE"), ("in", "IN"), (" gb ", "GB"), ("", None), (None, None)]
    )
    def test_normalises(self, raw, expected):
        assert normalize_country(raw) == expected

    @pytest.mark.parametrize("raw", ["XX", "UK", "DEU", "D", "12"])
    def test_rejects_unassigned_codes(self, raw):
        with pytest.raises(InvalidCountryError) as caught:
            normalize_country(raw)
        assert (caught.value.code, caught.value.attr) == ("invalid_country", "country")
