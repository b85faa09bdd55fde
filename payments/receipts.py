"""Payment receipts: the line items, a one-page A4 PDF and the receipt email; never the licence plate.

Money is an integer in minor units (ARCHITECTURE §5) printed with the currency's symbol and its
ISO 4217 exponent. The PDF embeds DejaVu Sans from ``payments/fonts`` (vendored, with its LICENSE):
reportlab's built-in fonts have no ₹ glyph and a fresh machine has no system fonts we can rely on.

Each public function loads the payment once with everything a receipt shows (booking, facility, spot,
driver, organization); ``receipt_email`` builds the context, the bodies and the PDF from that one load.
"""

from __future__ import annotations

import functools
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.exceptions import ConflictError
from bookings.emails import WINDOW_FORMAT
from pricing.money import format_money as money

from .models import Payment, PaymentPurpose, PaymentStatus

# ---------------------------------------------------------------------------- content

PROVIDER_LABELS: dict[str, str] = {"stripe": "Stripe", "razorpay": "Razorpay", "cash": "Cash", "sandbox": "Sandbox"}
CARD_BRANDS: dict[str, str] = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "rupay": "RuPay",
    "unionpay": "UnionPay",
    "visa": "Visa",
}
ISSUED_FORMAT = "%d %b %Y"
# Everything a receipt shows, in one query. Never the vehicle: a receipt carries no plate.
RECEIPT_RELATED = ("booking__facility", "booking__spot", "driver", "organization")
UTC = ZoneInfo("UTC")


def _load(payment: Payment) -> Payment:
    """One query for everything a receipt shows. Raises ``ConflictError`` (``receipt_unavailable``)
    unless the payment succeeded: a failed or open payment has no receipt."""
    loaded = Payment.objects.select_related(*RECEIPT_RELATED).get(pk=payment.pk)
    if loaded.status != PaymentStatus.SUCCEEDED:
        raise ConflictError(f"A {loaded.status} payment has no receipt.", code="receipt_unavailable")
    return loaded


def receipt_number(payment: Payment) -> str:
    """``R-`` and the first 8 hex digits of the payment id, upper case: a handle for people. It is
    not unique on its own (32 bits); the PDF also prints the full payment id for support."""
    return f"R-{payment.pk.hex[:8].upper()}"


def receipt_lines(payment: Payment) -> list[tuple[str, int]]:
    """The line items (label, minor units); they always add up to ``payment.amount``.

    A booking payment is itemised from its booking: parking, the discount (negative, only when there
    is one, naming the promo code), the service fee and the transaction fee. When the booking no longer
    totals this payment (it was extended after this payment, the extension being its own payment) or
    for any other purpose it is one line: the payment's description, else its purpose. No taxes are
    modelled, so none are shown.
    """
    booking = payment.booking
    if payment.purpose == PaymentPurpose.BOOKING and booking is not None and booking.total == payment.amount:
        lines = [("Parking", booking.parking_amount)]
        if booking.discount_amount:
            label = f"Discount ({booking.promo_code})" if booking.promo_code else "Discount"
            lines.append((label, -booking.discount_amount))
        lines += [("Service fee", booking.service_fee), ("Transaction fee", booking.transaction_fee)]
        if sum(amount for _, amount in lines) == payment.amount:
            return lines
    return [(payment.description or PaymentPurpose(payment.purpose).label, payment.amount)]


def _card(payment: Payment) -> str:
    if not payment.card_last4:
        return ""
    brand = CARD_BRANDS.get(payment.card_brand.lower(), payment.card_brand.title()) or "Card"
    return f"{brand} ending in {payment.card_last4}"


def _context(payment: Payment) -> dict[str, Any]:
    """The receipt context for a payment loaded by ``_load`` (no further queries)."""
    booking = payment.booking
    facility = booking.facility if booking is not None else None
    zone = ZoneInfo(facility.timezone) if facility is not None else UTC
    paid_at: datetime = (payment.succeeded_at or payment.created_at).astimezone(zone)
    currency = payment.currency
    context: dict[str, Any] = {
        "number": receipt_number(payment),
        "payment_id": str(payment.pk),
        "issued": paid_at.strftime(ISSUED_FORMAT),
        "paid_at": paid_at.strftime(WINDOW_FORMAT),
        "timezone": zone.key,
        "organization_name": payment.organization.name,
        "purpose": PaymentPurpose(payment.purpose).label,
        "currency": currency,
        "lines": [{"label": label, "amount": money(amount, currency)} for label, amount in receipt_lines(payment)],
        "total": money(payment.amount, currency),
        "provider": PROVIDER_LABELS.get(payment.provider, payment.provider.title()),
        "provider_reference": payment.provider_payment_id,
        "card": _card(payment),
        # ``refunded_amount`` also counts refunds still in flight (payments/models.py).
        "refunded": money(payment.refunded_amount, currency) if payment.refunded_amount else "",
        "net_paid": money(payment.amount - payment.refunded_amount, currency),
        "driver_name": payment.driver.full_name if payment.driver is not None else "",
        "driver_email": payment.driver.email if payment.driver is not None else "",
        "reference": "",
        "facility_name": "",
        "facility_address": "",
        "spot_code": "",
        "start": "",
        "end": "",
    }
    if booking is not None and facility is not None:
        address = ", ".join(
            part for part in (facility.address_line, facility.city, facility.region, facility.postal_code) if part
        )
        context.update(
            reference=booking.reference,
            facility_name=facility.name,
            facility_address=address,
            spot_code=booking.spot.code,
            start=booking.start.astimezone(zone).strftime(WINDOW_FORMAT),
            end=booking.end.astimezone(zone).strftime(WINDOW_FORMAT),
        )
    return context


def receipt_context(payment: Payment) -> dict[str, Any]:
    """Everything a receipt shows, formatted: ``number``, ``issued`` (date) and ``paid_at`` in the
    facility's time zone (``timezone``, the IANA name; UTC without a booking), the facility and booking
    (``reference``, ``start``/``end``, ``spot_code``; empty strings without a booking), ``lines``
    (``label``/``amount``), ``total``, ``provider`` and ``provider_reference``, ``card`` ("Visa ending
    in 4242" or empty) and ``refunded`` (empty when nothing was refunded). Only succeeded payments have
    a receipt (``ConflictError`` ``receipt_unavailable`` otherwise). One query."""
    return _context(_load(payment))


# ---------------------------------------------------------------------------- PDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
FRAME_PADDING = 6  # reportlab's Frame pads each side by 6 pt: tables fill what is left


@functools.cache
def register_fonts() -> None:
    """Register the vendored DejaVu Sans faces with reportlab (once per process)."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14, textColor=INK)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=20, leading=24),
        "heading": ParagraphStyle("heading", parent=body, fontName=FONT_BOLD, fontSize=11, spaceBefore=6),
        "body": body,
        "muted": ParagraphStyle("muted", parent=body, fontSize=8, leading=11, textColor=MUTED),
        "label": ParagraphStyle("label", parent=body, textColor=MUTED),
        "amount": ParagraphStyle("amount", parent=body, alignment=TA_RIGHT),
        "total": ParagraphStyle("total", parent=body, fontName=FONT_BOLD, fontSize=12, leading=16),
        "total_amount": ParagraphStyle(
            "total_amount", parent=body, fontName=FONT_BOLD, fontSize=12, leading=16, alignment=TA_RIGHT
        ),
    }


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraph text is markup: escape what comes from data (facility names, descriptions).
    return Paragraph(escape(text), style)


def _details(rows: list[tuple[str, str]], styles: dict[str, ParagraphStyle], width: float) -> Table:
    table = Table(
        [[_para(label, styles["label"]), _para(value, styles["body"])] for label, value in rows if value],
        colWidths=[40 * mm, width - 40 * mm],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _story(context: dict[str, Any], width: float) -> list[Flowable]:
    styles = _styles()
    story: list[Flowable] = [
        _para("Receipt", styles["title"]),
        _para(f"{context['number']} · {context['organization_name']}", styles["body"]),
        Spacer(1, 6 * mm),
    ]
    payment_rows = [
        ("Receipt number", context["number"]),
        ("Issued", context["issued"]),
        ("Paid", f"{context['paid_at']} ({context['timezone']} time)"),
        ("Billed to", " · ".join(part for part in (context["driver_name"], context["driver_email"]) if part)),
        ("Paid with", ", ".join(part for part in (context["provider"], context["card"]) if part)),
        ("Payment reference", context["provider_reference"]),
    ]
    story += [_details(payment_rows, styles, width), Spacer(1, 4 * mm)]
    if context["reference"]:
        booking_rows = [
            ("Booking", context["reference"]),
            ("Facility", context["facility_name"]),
            ("Address", context["facility_address"]),
            ("Spot", context["spot_code"]),
            ("From", context["start"]),
            ("Until", f"{context['end']} ({context['timezone']} time)"),
        ]
        story += [_para("Parking", styles["heading"]), _details(booking_rows, styles, width), Spacer(1, 4 * mm)]

    rows: list[list[Flowable]] = [
        [_para(line["label"], styles["body"]), _para(line["amount"], styles["amount"])] for line in context["lines"]
    ]
    rows.append([_para("Total paid", styles["total"]), _para(context["total"], styles["total_amount"])])
    if context["refunded"]:
        rows.append(
            [_para("Refunded (incl. in progress)", styles["body"]), _para(context["refunded"], styles["amount"])]
        )
        rows.append([_para("Net paid", styles["body"]), _para(context["net_paid"], styles["amount"])])
    total_row = len(context["lines"])
    items = Table(rows, colWidths=[width - 50 * mm, 50 * mm])
    items.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("LINEABOVE", (0, 0), (-1, 0), 0.5, RULE),
                ("LINEABOVE", (0, total_row), (-1, total_row), 1, INK),
                ("TOPPADDING", (0, total_row), (-1, total_row), 6),
            ]
        )
    )
    story += [
        _para("Charges", styles["heading"]),
        items,
        Spacer(1, 10 * mm),
        _para(f"Amounts in {context['currency']}.", styles["muted"]),
        _para(f"Payment ID {context['payment_id']}", styles["muted"]),
    ]
    return story


def _pdf(context: dict[str, Any], *, compress: bool) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Receipt {context['number']}",
        author=context["organization_name"],
        subject=f"Receipt {context['number']}",
        pageCompression=1 if compress else 0,
    )
    document.build(_story(context, document.width - 2 * FRAME_PADDING))
    return buffer.getvalue()


def receipt_pdf(payment: Payment, *, compress: bool = True) -> bytes:
    """The receipt as a one-page A4 PDF in DejaVu Sans (embedded as a subset, so ₹ renders anywhere).
    ``compress=False`` leaves the page streams uncompressed (for tests that read the text). One query;
    ``ConflictError`` ``receipt_unavailable`` unless the payment succeeded."""
    return _pdf(_context(_load(payment)), compress=compress)


# ---------------------------------------------------------------------------- email


def receipt_email(payment: Payment) -> EmailMultiAlternatives:
    """The receipt email to the payment's driver: text and HTML bodies and ``receipt-{number}.pdf``.

    Preconditions: the payment succeeded (``ConflictError`` ``receipt_unavailable`` otherwise) and has a
    driver with an email address (``ValueError`` otherwise; payments/notifications.py only sends those).
    One query. Nothing about the vehicle is loaded, so no plate can leak into it.
    """
    payment = _load(payment)
    if payment.driver is None or not payment.driver.email:
        raise ValueError(f"payment {payment.pk} has no driver email to send a receipt to")
    context = _context(payment)
    number = context["number"]
    if context["reference"]:
        subject = f"Receipt for your parking at {context['facility_name']} — {context['reference']}"
    else:
        subject = f"Receipt {number}"
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("payments/email/receipt.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[payment.driver.email],
    )
    email.attach_alternative(render_to_string("payments/email/receipt.html", context), "text/html")
    email.attach(f"receipt-{number}.pdf", _pdf(context, compress=True), "application/pdf")
    return email
