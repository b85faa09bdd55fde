"""Gate credentials (signed QR payloads), their public keys, and the booking's calendar file.

- ``GET bookings/{id}/credential/``: the driver's signed credential (``bookings.credentials``) with a
  QR code as inline SVG in JSON, or the QR code itself as PNG with ``?format=png`` (or
  ``Accept: image/png``).
- ``GET bookings/credential-keys/``: the public keys (JWK set) gates verify credentials with. Public.
- ``GET bookings/{id}/calendar.ics``: an RFC 5545 iCalendar event for the booking.

Errors are always JSON, whichever representation was asked for.
"""

import io
from datetime import UTC, datetime
from typing import Any

import segno
from django.http.request import split_domain_port
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from app.api.helpers import request_user as _user
from app.api.openapi import ClientErrorResponseSerializer
from app.api.renderers import JsonErrorsMixin
from app.api.schema import AutoSchema
from bookings import selectors
from bookings.credentials import credential_issue, public_jwks, signing_keys_from_settings
from bookings.models import Booking, BookingStatus

#: Quiet zone of four modules, as the QR specification requires; error correction M (segno raises
#: it when the payload leaves room).
QR_BORDER = 4
QR_SVG_SCALE = 4
QR_PNG_SCALE = 8


# ---------------------------------------------------------------------------------------- renderers
class PNGRenderer(renderers.BaseRenderer):
    """Passes PNG bytes through (selected by ``?format=png`` or ``Accept: image/png``)."""

    media_type = "image/png"
    format = "png"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        assert isinstance(data, bytes), "PNGRenderer renders bytes only"
        return data


class ICalendarRenderer(renderers.BaseRenderer):
    """Writes an iCalendar text (already folded, CRLF line endings) as UTF-8."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        assert isinstance(data, str), "ICalendarRenderer renders text only"
        return data.encode("utf-8")


class JsonErrorsAutoSchema(AutoSchema):
    """Documents error responses as JSON only (what ``JsonErrorsMixin`` sends), not as PNG or iCalendar."""

    def _get_response_for_code(
        self, serializer: Any, status_code: str, media_types: Any = None, direction: Any = "response"
    ) -> Any:
        if media_types is None and int(status_code) >= 400:
            media_types = [renderers.JSONRenderer.media_type]
        return super()._get_response_for_code(serializer, status_code, media_types, direction)


# ---------------------------------------------------------------------------------------- credential
class CredentialOutputSerializer(serializers.Serializer):
    payload = serializers.CharField(
        help_text="The signed credential `PK1.<claims>.<signature>`; this text is what the QR code holds."
    )
    kid = serializers.CharField(help_text="Id of the signing key (see `bookings/credential-keys/`).")
    not_before = serializers.DateTimeField(help_text="Valid from: the start minus the early check-in minutes.")
    expires_at = serializers.DateTimeField(help_text="Valid until (exclusive): the end plus the overstay grace.")
    qr_svg = serializers.CharField(help_text="The QR code of `payload` as an SVG document (no XML declaration).")


def _qr(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error="m")


def _qr_svg(payload: str) -> str:
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="svg", scale=QR_SVG_SCALE, border=QR_BORDER, xmldecl=False, nl=False)
    return buffer.getvalue().decode("utf-8")


def _qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="png", scale=QR_PNG_SCALE, border=QR_BORDER)
    return buffer.getvalue()


class BookingCredentialApi(JsonErrorsMixin, APIView):
    renderer_classes = (renderers.JSONRenderer, PNGRenderer)
    schema = JsonErrorsAutoSchema()

    @extend_schema(
        operation_id="bookings_credential",
        tags=["bookings"],
        summary="Signed gate credential (QR) for a confirmed or checked-in booking",
        description=(
            "An Ed25519-signed credential a gate verifies offline with the keys from "
            "`GET /api/v1/bookings/credential-keys/`. JSON by default (with the QR code as SVG); "
            "`?format=png` (or `Accept: image/png`) answers the QR code as a PNG image. Only the booking's "
            "driver may fetch it (404 for anyone else); bookings that are not `confirmed` or `checked_in` "
            "are 409 `credential_unavailable`. Not cached: fetch it again after changing the booking."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["json", "png"],
                description="`png`: answer the QR code image (`image/png`) instead of JSON.",
            )
        ],
        responses={
            (200, "application/json"): CredentialOutputSerializer,
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="The QR code as a PNG image."),
            409: OpenApiResponse(ClientErrorResponseSerializer, description="`credential_unavailable`."),
        },
    )
    def get(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking_id)
        credential = credential_issue(booking)
        if isinstance(request.accepted_renderer, PNGRenderer):
            response = Response(_qr_png(credential.payload))
        else:
            response = Response(
                CredentialOutputSerializer(
                    {
                        "payload": credential.payload,
                        "kid": credential.kid,
                        "not_before": credential.not_before,
                        "expires_at": credential.expires_at,
                        "qr_svg": _qr_svg(credential.payload),
                    }
                ).data
            )
        response["Cache-Control"] = "no-store"  # a bearer credential: keep it out of shared caches
        return response


# ---------------------------------------------------------------------------------------- public keys
class CredentialKeySerializer(serializers.Serializer):
    kty = serializers.CharField(help_text="`OKP` (RFC 8037).")
    crv = serializers.CharField(help_text="`Ed25519`.")
    alg = serializers.CharField(help_text="`EdDSA`.")
    use = serializers.CharField(help_text="`sig`.")
    kid = serializers.CharField(help_text="First 8 bytes of SHA-256 of the raw public key, hex.")
    x = serializers.CharField(help_text="The raw 32-byte public key, base64url without padding.")


class CredentialKeysOutputSerializer(serializers.Serializer):
    keys = CredentialKeySerializer(many=True, help_text="The signing key first, then older keys still accepted.")


class CredentialKeysApi(APIView):
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)

    @extend_schema(
        operation_id="bookings_credential_keys",
        tags=["bookings"],
        auth=[],
        summary="Public keys that verify gate credentials (JWK set)",
        description=(
            "Ed25519 public keys as JWKs. A credential's `kid` names the key that signed it; keys stay "
            "listed after a rotation until every credential they signed has expired. No login needed."
        ),
        responses={200: CredentialKeysOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        response = Response(CredentialKeysOutputSerializer(public_jwks(signing_keys_from_settings())).data)
        response["Cache-Control"] = "public, max-age=300"
        return response


# ---------------------------------------------------------------------------------------- calendar
ICS_LINE_OCTETS = 75
_ICS_STATUS: dict[str, str] = {
    BookingStatus.PENDING_PAYMENT: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
    BookingStatus.EXPIRED: "CANCELLED",
    BookingStatus.NO_SHOW: "CANCELLED",
}


def ics_escape(text: str) -> str:
    """RFC 5545 §3.3.11 TEXT: escape backslash, semicolon and comma; line breaks become ``\\n``."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def ics_fold(line: str) -> str:
    """RFC 5545 §3.1: lines of at most 75 octets; continuations start with one space.

    Splits between characters, never inside a multi-byte UTF-8 sequence.
    """
    parts: list[str] = []
    current: list[str] = []
    size, limit = 0, ICS_LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, ICS_LINE_OCTETS - 1  # the leading space counts
        current.append(char)
        size += octets
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def booking_ics(booking: Booking, *, host: str, now: datetime) -> str:
    """One VEVENT for the booking's window, in UTC. Access details only while the booking is usable."""
    facility = booking.facility
    region = " ".join(part for part in (facility.region, facility.postal_code) if part)
    address = ", ".join(part for part in (facility.address_line, facility.city, region, facility.country) if part)
    description = [f"Booking reference: {booking.reference}", f"Spot: {booking.spot.code} ({booking.zone.name})"]
    if booking.status in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
        if booking.access_code:
            description.append(f"Access code: {booking.access_code}")
        if facility.access_instructions:
            description.append(f"Access instructions: {facility.access_instructions}")
        description.append("Show the QR code from the app at the gate.")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Parking Platform//Bookings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{booking.reference}@{host}",
        f"DTSTAMP:{_ics_time(now)}",
        f"DTSTART:{_ics_time(booking.start)}",
        f"DTEND:{_ics_time(booking.end)}",
        f"LAST-MODIFIED:{_ics_time(booking.updated_at)}",
        f"SUMMARY:{ics_escape(f'Parking at {facility.name}')}",
        f"LOCATION:{ics_escape(address)}",
        f"GEO:{facility.latitude};{facility.longitude}",
        f"DESCRIPTION:{ics_escape(chr(10).join(description))}",
        f"STATUS:{_ICS_STATUS.get(booking.status, 'CONFIRMED')}",
        # A parking reservation does not make its driver busy.
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(f"{ics_fold(line)}\r\n" for line in lines)


class BookingCalendarApi(JsonErrorsMixin, APIView):
    renderer_classes = (ICalendarRenderer,)
    schema = JsonErrorsAutoSchema()

    @extend_schema(
        operation_id="bookings_calendar",
        tags=["bookings"],
        summary="The booking as an iCalendar (.ics) event",
        description=(
            "RFC 5545 VCALENDAR with one VEVENT: UID `<reference>@<host>`, DTSTART/DTEND in UTC, the facility "
            "name, address and coordinates, and (for confirmed and checked-in bookings) the access code and "
            "instructions. Cancelled, expired and no-show bookings come with `STATUS:CANCELLED`, so importing "
            "the file again removes the event. Only the booking's driver may fetch it."
        ),
        responses={
            (200, "text/calendar"): OpenApiResponse(OpenApiTypes.STR, description="The iCalendar file (UTF-8)."),
        },
    )
    def get(self, request: Request, booking_id: str) -> Response:
        booking = selectors.booking_get_for_driver(driver=_user(request), booking_id=booking_id)
        host = split_domain_port(request.get_host())[0] or "parking.local"
        response = Response(booking_ics(booking, host=host, now=timezone.now()))
        response["Content-Disposition"] = f'attachment; filename="{booking.reference}.ics"'
        response["Cache-Control"] = "private, no-cache"
        return response
