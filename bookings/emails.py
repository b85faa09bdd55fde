"""Booking emails (confirmation, cancellation, reminder) rendered from templates; never include the plate."""

import io
from typing import Any
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from app.exceptions import ConflictError
from pricing.money import format_money

from .credentials import credential_issue
from .models import Booking, BookingStatus, OutboxKind, OutboxMessage

QR_PNG_SCALE = 8
QR_BORDER = 4
WINDOW_FORMAT = "%a %d %b %Y, %H:%M"


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(payload, error="m").save(buffer, kind="png", scale=QR_PNG_SCALE, border=QR_BORDER)
    return buffer.getvalue()


# kind → (template, subject state, headline); the "pass" template carries access details and the QR
_KINDS: dict[str, tuple[str, str, str]] = {
    OutboxKind.BOOKING_CONFIRMED: ("pass", "is confirmed", "Your parking is confirmed."),
    OutboxKind.BOOKING_CANCELLED: ("cancelled", "is cancelled", "Your parking has been cancelled."),
    OutboxKind.BOOKING_REMINDER: ("pass", "starts soon", "Your parking starts soon."),
    OutboxKind.BOOKING_ENDING: ("notice", "ends soon", "Your parking ends soon."),
    OutboxKind.NO_SHOW: ("notice", "was released", "You did not arrive: your parking was released."),
    OutboxKind.OVERSTAY: ("notice", "has ended", "Your parking time is over."),
}

# What the "notice" template says under the booking details, per kind.
_NOTICES: dict[str, str] = {
    OutboxKind.BOOKING_ENDING: "Please leave by the end time, or extend the booking in the app before it ends.",
    OutboxKind.NO_SHOW: (
        "Nobody checked in by the end of the arrival grace period, so the spot was released. A no-show fee "
        "may apply under the facility's policy; it appears in your payments. If you still arrive, the booking "
        "is given back to you if a suitable spot is free."
    ),
    OutboxKind.OVERSTAY: (
        "Your booking has ended and its grace period is over. Overstay time is charged when you leave "
        "(at the facility's overstay rate, plus any admin fee); staying much longer may lead to a fine."
    ),
}

# Notices that only make sense while the booking is still in this status (else skipped when due).
_STILL: dict[str, str] = {
    OutboxKind.BOOKING_REMINDER: BookingStatus.CONFIRMED,
    OutboxKind.BOOKING_ENDING: BookingStatus.CHECKED_IN,
}


def _context(booking: Booking, *, with_pass: bool) -> dict[str, Any]:
    facility = booking.facility
    zone = ZoneInfo(facility.timezone)
    start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
    address = ", ".join(
        part for part in (facility.address_line, facility.city, facility.region, facility.postal_code) if part
    )
    return {
        "reference": booking.reference,
        "facility_name": facility.name,
        "facility_address": address,
        "start": start.strftime(WINDOW_FORMAT),
        "end": end.strftime(WINDOW_FORMAT),
        "timezone": facility.timezone,
        "spot_code": booking.spot.code,
        "total": format_money(booking.total, booking.currency),
        "access_instructions": facility.access_instructions if with_pass else "",
        "access_code": booking.access_code if with_pass else "",
        "refund": format_money(booking.refund_amount or 0, booking.currency),
    }


def booking_email(message: OutboxMessage) -> EmailMultiAlternatives | None:
    """The email for an outbox message: text and HTML, plus the gate QR (``qr.png``) for confirmations
    and reminders. ``None`` when it no longer applies (a reminder for a booking that is not confirmed
    any more)."""
    booking = Booking.objects.select_related("facility", "spot").filter(pk=message.booking_id).get()
    if message.kind in _STILL and booking.status != _STILL[message.kind]:
        return None
    template, state, headline = _KINDS[message.kind]
    with_pass = template == "pass"
    context = {**_context(booking, with_pass=with_pass), "headline": headline, "notice": _NOTICES.get(message.kind)}
    email = EmailMultiAlternatives(
        subject=f"Your parking at {booking.facility.name} {state} — {booking.reference}",
        body=render_to_string(f"bookings/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
    )
    email.attach_alternative(render_to_string(f"bookings/email/{template}.html", context), "text/html")
    if with_pass:
        try:
            credential = credential_issue(booking)
        except ConflictError:
            credential = None  # no longer active (e.g. cancelled since): no gate pass to attach
        if credential is not None:
            email.attach("qr.png", qr_png(credential.payload), "image/png")
    return email
