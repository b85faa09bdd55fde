"""Signed gate credentials (Ed25519 QR payloads), their public keys, and the booking's .ics file."""

import base64
import hashlib
import io
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

from accounts.tests.factories import UserFactory
from bookings import credentials, services
from bookings.credentials import CredentialError, credential_issue, credential_verify, public_keys_from_jwks
from bookings.models import BookingStatus

pytestmark = pytest.mark.django_db

KEYS_URL = "/api/v1/bookings/credential-keys/"
K1 = "8DP9kEf-AbKJ-FI3tNYmM5M4UwqTm9nIHCIQ6tg2_28"  # the seed in app/settings/test.py
K2 = "UAVfxoTypC9pL1F6CLTgnOoEKoV9WncXT8qw5oshBPA"


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(payload):
    prefix, body, signature = payload.split(".")
    return prefix, body, signature


def _claims(payload):
    return json.loads(_b64url_decode(_segments(payload)[1]))


def _published(api_client):
    response = api_client.get(KEYS_URL)
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def booking(driver, car, facility, spot, window):
    start, end = window
    return services.booking_create(
        services.BookingRequest(driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end)
    )


def _credential_url(booking):
    return f"/api/v1/bookings/{booking.pk}/credential/"


def _calendar_url(booking):
    return f"/api/v1/bookings/{booking.pk}/calendar.ics"


# ---------------------------------------------------------------------------------------- issue + verify
def test_driver_gets_a_credential_that_verifies_with_the_published_key(auth_client, api_client, driver, booking):
    response = auth_client(driver).get(_credential_url(booking))

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"payload", "kid", "not_before", "expires_at", "qr_svg"}
    prefix, segment, signature = _segments(body["payload"])
    assert prefix == "PK1"

    # The gate's view: fetch the public keys without logging in, rebuild the key with cryptography,
    # and check the signature over the exact bytes of the claims segment.
    published = _published(api_client)["keys"]
    assert [key["kid"] for key in published] == [body["kid"]]
    jwk = published[0]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    public_key = Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
    public_key.verify(_b64url_decode(signature), segment.encode("ascii"))  # raises if wrong

    claims = _claims(body["payload"])
    start_unix, end_unix = int(booking.start.timestamp()), int(booking.end.timestamp())
    assert claims == {
        "v": 1,
        "kid": body["kid"],
        "ref": booking.reference,
        "fac": booking.facility_id,
        "spot": "A-1",
        "nbf": start_unix - 15 * 60,  # the facility's early_checkin_minutes
        "exp": end_unix + 15 * 60,  # the facility's overstay_grace_minutes
        "iat": claims["iat"],
    }
    assert datetime.fromisoformat(body["not_before"]) == booking.start - timedelta(minutes=15)
    assert datetime.fromisoformat(body["expires_at"]) == booking.end + timedelta(minutes=15)
    assert credential_verify(body["payload"], public_keys_from_jwks(_published(api_client)), booking.start) == claims


def test_kid_is_the_first_8_bytes_of_sha256_of_the_raw_public_key(api_client):
    jwk = _published(api_client)["keys"][0]
    private_key = Ed25519PrivateKey.from_private_bytes(_b64url_decode(K1))

    assert _b64url_decode(jwk["x"]) == private_key.public_key().public_bytes_raw()
    assert jwk["kid"] == hashlib.sha256(private_key.public_key().public_bytes_raw()).digest()[:8].hex()


def test_window_follows_the_facility_policies(driver, booking, facility):
    facility.early_checkin_minutes = 30
    facility.overstay_grace_minutes = 0
    facility.save()
    booking.refresh_from_db()

    credential = credential_issue(booking)

    assert credential.not_before == booking.start - timedelta(minutes=30)
    assert credential.expires_at == booking.end


def test_checked_in_booking_still_gets_a_credential_for_the_exit(auth_client, driver, booking):
    services.booking_check_in(booking_id=booking.pk, actor=driver, at=booking.start)

    assert auth_client(driver).get(_credential_url(booking)).status_code == 200


# ---------------------------------------------------------------------------------------- rejections
@pytest.fixture
def issued(booking):
    credential = credential_issue(booking)
    keys = {credential.kid: credentials.signing_key_from_seed(K1).public_key}
    return credential, keys


def _code(payload, keys, now):
    with pytest.raises(CredentialError) as caught:
        credential_verify(payload, keys, now)
    return caught.value.code


def test_a_changed_reference_is_bad_signature(issued, booking):
    credential, keys = issued
    prefix, _, signature = _segments(credential.payload)
    forged = {**_claims(credential.payload), "ref": "PKM-FORGED1"}
    segment = _b64url_encode(json.dumps(forged, separators=(",", ":")).encode())

    assert _code(f"{prefix}.{segment}.{signature}", keys, booking.start) == "bad_signature"


@pytest.mark.parametrize("position", [-2, -5, -20, -40])
def test_one_changed_character_of_the_claims_is_bad_signature(issued, booking, position):
    credential, keys = issued
    prefix, segment, signature = _segments(credential.payload)
    chars = list(segment)
    chars[position] = "A" if chars[position] != "A" else "B"
    tampered = "".join(chars)
    assert tampered != segment

    # Whether the result still parses as JSON or not, unsigned bytes are never trusted.
    assert _code(f"{prefix}.{tampered}.{signature}", keys, booking.start) == "bad_signature"


def test_one_changed_character_of_the_signature_is_rejected(issued, booking):
    credential, keys = issued
    prefix, segment, signature = _segments(credential.payload)
    chars = list(signature)
    chars[10] = "A" if chars[10] != "A" else "B"

    assert _code(f"{prefix}.{segment}.{''.join(chars)}", keys, booking.start) == "bad_signature"


def test_a_non_canonical_signature_encoding_is_malformed(issued, booking):
    credential, keys = issued
    prefix, segment, signature = _segments(credential.payload)
    # 64 bytes → 86 characters; the last one carries 2 data bits and 4 unused bits. Setting an
    # unused bit decodes to the same signature, which must not give a second valid spelling.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    respelled = signature[:-1] + alphabet[last | 1]
    assert _b64url_decode(respelled) == _b64url_decode(signature)

    assert _code(f"{prefix}.{segment}.{respelled}", keys, booking.start) == "malformed"


def test_unknown_kid_is_rejected(issued, booking):
    credential, _ = issued
    other = Ed25519PrivateKey.generate().public_key()

    assert _code(credential.payload, {}, booking.start) == "unknown_key"
    assert _code(credential.payload, {credentials.key_id(other): other}, booking.start) == "unknown_key"


def test_a_foreign_key_claiming_our_kid_is_bad_signature(issued, booking):
    credential, keys = issued
    impostor = credentials.SigningKey(kid=credential.kid, private_key=Ed25519PrivateKey.generate())
    forged = credentials.credential_build(
        reference=booking.reference,
        facility_id=booking.facility_id,
        spot_code="A-1",
        not_before=booking.start,
        expires_at=booking.end,
        issued_at=booking.start,
        key=impostor,
    )

    assert _code(forged.payload, keys, booking.start) == "bad_signature"


@pytest.mark.parametrize(
    "payload",
    ["", "PK1", "PK1.abc", "PK2.abc.def", "PK1.a.b.c", "PK1.!!!!.AAAA", "PK1.eyJ2IjoxfQ.AAAA", "x" * 5000],
)
def test_garbage_is_malformed(issued, booking, payload):
    _, keys = issued

    assert _code(payload, keys, booking.start) == "malformed"


def test_not_before_and_expiry_are_enforced_with_the_given_clock(issued):
    credential, keys = issued
    second = timedelta(seconds=1)

    assert _code(credential.payload, keys, credential.not_before - second) == "not_yet_valid"
    assert credential_verify(credential.payload, keys, credential.not_before)["ref"]
    assert credential_verify(credential.payload, keys, credential.expires_at - second)["ref"]
    assert _code(credential.payload, keys, credential.expires_at) == "expired"
    # a gate with a drifting clock may allow some leeway on both sides
    lenient = credential_verify(credential.payload, keys, credential.expires_at, leeway_seconds=60)
    assert lenient["ref"]
    with pytest.raises(ValueError, match="timezone-aware"):
        credential_verify(credential.payload, keys, datetime(2030, 1, 1))  # noqa: DTZ001


# ---------------------------------------------------------------------------------------- rotation
def test_rotation_new_key_signs_old_credentials_still_verify(settings, api_client, booking):
    old = credential_issue(booking)
    k1 = credentials.signing_key_from_seed(K1)
    k2 = credentials.signing_key_from_seed(K2)
    assert old.kid == k1.kid

    settings.CREDENTIAL_SIGNING_KEYS = [K2, K1]
    new = credential_issue(booking)
    published = _published(api_client)
    keys = public_keys_from_jwks(published)

    assert new.kid == k2.kid
    assert [key["kid"] for key in published["keys"]] == [k2.kid, k1.kid]  # the signing key first
    assert credential_verify(new.payload, keys, booking.start)["kid"] == k2.kid
    assert credential_verify(old.payload, keys, booking.start)["kid"] == k1.kid

    settings.CREDENTIAL_SIGNING_KEYS = [K2]  # K1 retired: its credentials stop working
    assert _code(old.payload, public_keys_from_jwks(_published(api_client)), booking.start) == "unknown_key"


def test_published_kid_must_match_its_key(api_client):
    document = _published(api_client)
    document["keys"][0]["kid"] = "0" * 16

    with pytest.raises(credentials.CredentialKeyError, match="does not match"):
        public_keys_from_jwks(document)


@pytest.mark.parametrize("configured", [[], ["not-a-key"], [K1[:-4]], [K1, K1]])
def test_missing_or_invalid_keys_are_improperly_configured_without_leaking_them(settings, booking, configured):
    settings.CREDENTIAL_SIGNING_KEYS = configured

    with pytest.raises(ImproperlyConfigured, match="CREDENTIAL_SIGNING_KEYS") as caught:
        credential_issue(booking)

    assert all(value not in str(caught.value) for value in configured)
    assert caught.value.__cause__ is None


def test_keys_endpoint_needs_no_login_and_ignores_tokens(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get(KEYS_URL)

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"


def test_verifier_module_imports_without_django():
    code = "import sys; sys.modules['django'] = None; import bookings.credentials as c; print(c.PREFIX)"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "PK1"), result.stderr


# ---------------------------------------------------------------------------------------- access
def test_another_user_gets_404(auth_client, booking):
    stranger = auth_client(UserFactory())

    assert stranger.get(_credential_url(booking)).status_code == 404
    assert stranger.get(f"{_credential_url(booking)}?format=png").status_code == 404
    assert stranger.get(_calendar_url(booking)).status_code == 404


def test_anonymous_is_401(api_client, booking):
    assert api_client.get(_credential_url(booking)).status_code == 401
    assert api_client.get(_calendar_url(booking)).status_code == 401


def test_cancelled_booking_is_409_credential_unavailable(auth_client, driver, booking):
    services.booking_cancel(booking_id=booking.pk, actor=driver, reason="plans changed")
    client = auth_client(driver)

    for url in (_credential_url(booking), f"{_credential_url(booking)}?format=png"):
        response = client.get(url)
        assert response.status_code == 409
        assert response["Content-Type"] == "application/json"  # errors are JSON even when PNG was asked for
        assert response.json()["errors"][0]["code"] == "credential_unavailable"


def test_unpaid_booking_has_no_credential(auth_client, driver, car, facility, spot, window):
    facility.requires_prepayment = True
    facility.save()
    pending = services.booking_create(
        services.BookingRequest(
            driver=driver, vehicle=car, facility=facility, spot=spot, start=window[0], end=window[1]
        )
    )
    assert pending.status == BookingStatus.PENDING_PAYMENT

    response = auth_client(driver).get(_credential_url(pending))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "credential_unavailable"


# ---------------------------------------------------------------------------------------- QR images
def test_qr_svg_is_an_svg_of_the_payload_qr_code(auth_client, driver, booking):
    body = auth_client(driver).get(_credential_url(booking)).json()

    svg = body["qr_svg"]
    assert svg.startswith(("<?xml", "<svg"))
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
    expected = segno.make_qr(body["payload"], error="m")
    assert int(root.get("width")) == expected.symbol_size(scale=4, border=4)[0]
    buffer = io.BytesIO()
    expected.save(buffer, kind="svg", scale=4, border=4, xmldecl=False, nl=False)
    assert svg == buffer.getvalue().decode()


def test_png_variant_is_the_qr_code_image(auth_client, driver, booking):
    client = auth_client(driver)

    response = client.get(f"{_credential_url(booking)}?format=png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "no-store"
    png = response.content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    payload = client.get(_credential_url(booking)).json()["payload"]
    size = segno.make_qr(payload, error="m").symbol_size(scale=8, border=4)[0]
    assert (width, height) == (size, size)
    # Accept: image/png works as well as ?format=png
    assert client.get(_credential_url(booking), HTTP_ACCEPT="image/png")["Content-Type"] == "image/png"


# ---------------------------------------------------------------------------------------- calendar
def _unfold(text):
    return text.replace("\r\n ", "").split("\r\n")


def test_ics_is_rfc5545_with_the_booking_window_in_utc(auth_client, driver, booking, facility):
    facility.name = "Garage, North; Level 2"
    facility.region = "CA"
    facility.postal_code = "94105"
    facility.access_instructions = (
        "Enter from Mission St, take the ramp down to level −1 and follow the green signs; "
        "the kiosk at the barrier reads your QR code. Ünïcödé öäü ñ — " * 3
    )
    facility.save()

    response = auth_client(driver).get(_calendar_url(booking))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{booking.reference}.ics"'
    raw = response.content
    assert raw.endswith(b"\r\n")
    physical = raw.split(b"\r\n")[:-1]
    assert b"\n" not in b"".join(physical)  # CRLF only
    assert b"\r" not in b"".join(physical)
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical)  # long lines were folded
    for line in physical:
        line.decode("utf-8")  # folding never splits a multi-byte character

    lines = _unfold(raw.decode("utf-8"))[:-1]
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    assert lines[-1] == "END:VCALENDAR"
    props = dict(line.split(":", 1) for line in lines)
    start_utc = booking.start.astimezone(UTC)
    end_utc = booking.end.astimezone(UTC)
    assert datetime.strptime(props["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) == start_utc
    assert datetime.strptime(props["DTEND"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) == end_utc
    assert props["DTSTART"] == start_utc.strftime("%Y%m%dT%H%M%SZ")
    assert props["UID"] == f"{booking.reference}@testserver"
    assert props["SUMMARY"] == r"Parking at Garage\, North\; Level 2"
    assert props["LOCATION"] == r"1 Market St\, San Francisco\, CA 94105\, US"
    assert props["STATUS"] == "CONFIRMED"
    description = props["DESCRIPTION"]
    assert description.startswith(f"Booking reference: {booking.reference}\\nSpot: A-1")
    assert "Access instructions: Enter from Mission St\\, take the ramp" in description
    assert "Ünïcödé" in description
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1


def test_ics_of_a_cancelled_booking_is_cancelled_without_access_details(auth_client, driver, booking, facility):
    facility.access_instructions = "Gate code is on the sign."
    facility.save()
    services.booking_cancel(booking_id=booking.pk, actor=driver, reason="")

    text = auth_client(driver).get(_calendar_url(booking)).content.decode()

    props = dict(line.split(":", 1) for line in _unfold(text)[:-1])
    assert props["STATUS"] == "CANCELLED"
    assert "Gate code" not in text


def test_ics_fold_counts_octets():
    from bookings.api.credentials import ics_fold

    folded = ics_fold("DESCRIPTION:" + "é" * 100)
    physical = folded.split("\r\n")

    assert all(len(line.encode()) <= 75 for line in physical)
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + "é" * 100


def test_credential_window_check_rejects_inverted_windows(booking):
    key = credentials.signing_key_from_seed(K1)
    with pytest.raises(ValueError, match="before"):
        credentials.credential_build(
            reference="PKM-X",
            facility_id=1,
            spot_code="A-1",
            not_before=booking.end,
            expires_at=booking.start,
            issued_at=booking.start,
            key=key,
        )


def test_seed_generator_makes_valid_keys():
    seed = credentials.generate_seed()

    assert len(seed) == 43
    assert credentials.signing_key_from_seed(seed).kid == credentials.signing_key_from_seed(seed + "=").kid
    with pytest.raises(InvalidSignature):
        credentials.signing_key_from_seed(seed).public_key.verify(b"\x00" * 64, b"x")
