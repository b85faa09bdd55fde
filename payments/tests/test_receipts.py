"""Receipts: money formatting, line items, the PDF (₹ in an embedded font) and the receipt email.

How the PDF text is checked without a PDF library: reportlab embeds a TrueType font as a subset with
one-byte codes (ASCII keeps its codes, other characters get free ones such as ``\\001`` for ₹) and writes
a ``/ToUnicode`` CMap per subset mapping each code back to its Unicode character, which is what PDF
readers use to copy or search text. ``receipt_pdf(..., compress=False)`` leaves the page stream
uncompressed, so ``_pdf_text`` reads each ``(…) Tj`` string, decodes it through the CMap of the font
selected by the preceding ``Tf`` and yields the text a reader would copy. Together with the vendored
font's own cmap having a real glyph for U+20B9 (``test_vendored_font_has_the_rupee_glyph``), that
shows ₹ is drawn with a real glyph, not the missing-glyph box.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from reportlab.pdfbase.ttfonts import TTFont

from app.exceptions import ConflictError
from bookings import services as booking_services
from bookings.emails import WINDOW_FORMAT
from parking.tests.factories import make_facility, make_spot, make_zone
from payments import receipts
from payments.models import Payment, PaymentPurpose, PaymentStatus
from pricing import services as pricing_services
from pricing.money import format_money

pytestmark = pytest.mark.django_db

SUCCEEDED_AT = datetime(2025, 3, 4, 20, 30, tzinfo=UTC)  # 5 Mar 02:00 in Kolkata, 4 Mar 12:30 in San Francisco


# ---------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def inr_facility(org_a):
    """Org A switched to INR, with a Bengaluru garage at ₹25,000/h (large enough for lakh grouping)."""
    org_a.currency = "INR"
    org_a.save(update_fields=["currency"])
    facility = make_facility(
        org_a,
        name="Koramangala Garage",
        address_line="80 Feet Rd",
        city="Bengaluru",
        region="Karnataka",
        postal_code="560034",
        country="IN",
        latitude=Decimal("12.935200"),
        longitude=Decimal("77.624500"),
        timezone="Asia/Kolkata",
        requires_prepayment=False,
    )
    pricing_services.rule_create(
        facility=facility,
        data={"name": "Hourly", "strategy": "hourly", "config": {"rate": 2_500_000, "increment_minutes": 60}},
    )
    return facility


@pytest.fixture
def inr_spot(inr_facility):
    return make_spot(make_zone(inr_facility), "B-7")


def _book(driver, car, facility, spot, window, promo_code=""):
    start, end = window
    return booking_services.booking_create(
        booking_services.BookingRequest(
            driver=driver, vehicle=car, facility=facility, spot=spot, start=start, end=end, promo_code=promo_code
        )
    )


def _pay(of, driver, **overrides):
    """A succeeded Stripe card payment of booking ``of``'s total (the webhook's end state); override
    ``booking=None`` and the amounts for payments not tied to the booking."""
    fields = {
        "organization": of.organization,
        "driver": driver,
        "booking": of,
        "purpose": PaymentPurpose.BOOKING,
        "description": f"Parking {of.reference}",
        "amount": of.total,
        "owner_amount": of.owner_payout,
        "platform_amount": of.platform_revenue,
        "currency": of.currency,
        "provider": "stripe",
        "provider_payment_id": "pi_123",
        "status": PaymentStatus.SUCCEEDED,
        "card_brand": "visa",
        "card_last4": "4242",
        "succeeded_at": SUCCEEDED_AT,
    }
    fields.update(overrides)
    return Payment.objects.create(**fields)


@pytest.fixture
def usd_booking(driver, car, facility, spot, window):
    return _book(driver, car, facility, spot, window)


@pytest.fixture
def inr_booking(driver, car, inr_facility, inr_spot, window):
    return _book(driver, car, inr_facility, inr_spot, window)


def _unescape(raw: bytes) -> bytes:
    """PDF literal string escapes: ``\\ddd`` octal, ``\\(``, ``\\)``, ``\\\\`` (all reportlab writes)."""
    return re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m[1], 8)]) if m[1].isdigit() else m[1], raw)


def _pdf_text(pdf: bytes) -> str:
    """The text of an uncompressed reportlab PDF, one line per text line: the ``(…) Tj`` strings
    up to the next ``T*`` or ``ET`` (a line split into fragments, e.g. at ``&`` or ``<``, is joined),
    each decoded through its font's ``/ToUnicode`` CMap (fonts without one, like Helvetica, as Latin-1)."""
    objects = {int(number): body for number, body in re.findall(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.S)}
    cmaps: dict[bytes, dict[int, str]] = {}
    for name, ref in re.findall(rb"/(F\d+(?:\+\d+)?) (\d+) 0 R", pdf):
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)])
        if to_unicode is not None:
            pairs = re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4})>", objects[int(to_unicode[1])])
            cmaps[name] = {int(code, 16): chr(int(char, 16)) for code, char in pairs}
    lines: list[str] = []
    for contents in re.findall(rb"/Contents (\d+) 0 R", pdf):
        stream = re.search(rb"stream\r?\n(.*)endstream", objects[int(contents)], re.S)
        assert stream is not None
        cmap: dict[int, str] = {}
        line = ""
        for match in re.finditer(rb"/(F\d+(?:\+\d+)?) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj|\bT\*|\bET\b", stream[1]):
            if match[1] is not None:
                cmap = cmaps.get(match[1], {})
            elif match[2] is not None:
                line += "".join(cmap.get(byte, chr(byte)) for byte in _unescape(match[2]))
            elif line:
                lines.append(line)
                line = ""
    return "\n".join(lines)


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


# ---------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123456, "INR", "₹1,234.56"),
        (12345678, "INR", "₹1,23,456.78"),
        (1234567890, "INR", "₹1,23,45,678.90"),
        (99999, "INR", "₹999.99"),
        (5, "INR", "₹0.05"),
        (0, "INR", "₹0.00"),
        (-12345678, "INR", "-₹1,23,456.78"),
        (445000, "USD", "$4,450.00"),
        (12345678, "USD", "$123,456.78"),
        (-1000, "USD", "-$10.00"),
        (123456, "EUR", "€1,234.56"),
        (199, "GBP", "£1.99"),
        (1500, "JPY", "¥1,500"),
        (1500, "KWD", "KWD 1.500"),
        (123456, "CHF", "CHF 1,234.56"),
        (-123456, "CHF", "-CHF 1,234.56"),
    ],
)
def test_money_uses_symbols_grouping_and_exponents(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_vendored_font_has_the_rupee_glyph():
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        face = TTFont(name, str(receipts.FONT_DIR / name)).face

        assert face.charToGlyph.get(0x20B9, 0) != 0, name  # glyph 0 would be .notdef (a box)
    assert "Bitstream Vera Fonts Copyright" in (receipts.FONT_DIR / "LICENSE").read_text()


# ---------------------------------------------------------------------------- lines and context


def test_booking_payment_is_itemised_and_adds_up(usd_booking, driver):
    payment = _pay(usd_booking, driver)

    lines = receipts.receipt_lines(payment)

    assert lines == [("Parking", 4000), ("Service fee", 400), ("Transaction fee", 50)]
    assert sum(amount for _, amount in lines) == payment.amount == 4450


def test_discount_is_a_negative_line_naming_the_promo_code(driver, car, facility, spot, window):
    pricing_services.discount_create(
        organization_id=facility.organization_id,
        data={"code": "SUMMER", "kind": "percent", "percent": 25},
        facilities=[],
    )
    booking = _book(driver, car, facility, spot, window, promo_code="summer")
    payment = _pay(booking, driver)

    lines = receipts.receipt_lines(payment)

    assert lines == [("Parking", 4000), ("Discount (SUMMER)", -1000), ("Service fee", 300), ("Transaction fee", 50)]
    assert sum(amount for _, amount in lines) == payment.amount == 3350


def test_booking_extended_after_payment_is_one_line(usd_booking, driver):
    payment = _pay(usd_booking, driver)
    booking_services.booking_extend(
        booking_id=usd_booking.pk, actor=driver, new_end=usd_booking.end + timedelta(hours=1)
    )
    payment = Payment.objects.select_related("booking").get(pk=payment.pk)

    assert payment.booking.total == 4450 + 1150  # the extension is paid separately
    assert receipts.receipt_lines(payment) == [(f"Parking {usd_booking.reference}", 4450)]


def test_other_purposes_are_one_line_description_or_purpose(usd_booking, driver, org_a):
    extension = _pay(
        usd_booking,
        driver,
        purpose=PaymentPurpose.EXTENSION,
        description="Extension to 18:00",
        amount=1150,
        owner_amount=1000,
        platform_amount=150,
        provider_payment_id="pi_ext",
    )
    a_pass = _pay(
        usd_booking,
        driver,
        booking=None,
        purpose=PaymentPurpose.PASS,
        description="",
        amount=9900,
        owner_amount=9000,
        platform_amount=900,
        provider_payment_id="pi_pass",
    )

    assert receipts.receipt_lines(extension) == [("Extension to 18:00", 1150)]
    assert receipts.receipt_lines(a_pass) == [("Pass", 9900)]


def test_context_is_in_the_facility_time_zone(inr_booking, driver):
    payment = _pay(inr_booking, driver, refunded_amount=1_000_000)
    kolkata = ZoneInfo("Asia/Kolkata")

    context = receipts.receipt_context(payment)

    assert context["number"] == "R-" + payment.pk.hex[:8].upper()
    assert (context["issued"], context["paid_at"]) == ("05 Mar 2025", "Wed 05 Mar 2025, 02:00")
    assert context["timezone"] == "Asia/Kolkata"
    assert context["start"] == inr_booking.start.astimezone(kolkata).strftime(WINDOW_FORMAT)
    assert context["end"] == inr_booking.end.astimezone(kolkata).strftime(WINDOW_FORMAT)
    assert context["reference"] == inr_booking.reference
    assert (context["facility_name"], context["spot_code"]) == ("Koramangala Garage", "B-7")
    assert context["facility_address"] == "80 Feet Rd, Bengaluru, Karnataka, 560034"
    # 4 h at ₹25,000/h: parking ₹1,00,000.00, 10 % service fee, 50 paise transaction fee.
    assert context["lines"] == [
        {"label": "Parking", "amount": "₹1,00,000.00"},
        {"label": "Service fee", "amount": "₹10,000.00"},
        {"label": "Transaction fee", "amount": "₹0.50"},
    ]
    assert context["total"] == "₹1,10,000.50"
    assert (context["refunded"], context["net_paid"]) == ("₹10,000.00", "₹1,00,000.50")
    assert (context["provider"], context["provider_reference"]) == ("Stripe", "pi_123")
    assert context["card"] == "Visa ending in 4242"


def test_only_a_succeeded_payment_has_a_receipt(usd_booking, driver):
    payment = _pay(usd_booking, driver, status=PaymentStatus.PROCESSING, succeeded_at=None)

    with pytest.raises(ConflictError) as error:
        receipts.receipt_pdf(payment)

    assert error.value.code == "receipt_unavailable"


# ---------------------------------------------------------------------------- PDF


def test_pdf_is_one_page_with_the_rupee_in_the_embedded_font(inr_booking, driver, car):
    payment = _pay(inr_booking, driver)

    pdf = receipts.receipt_pdf(payment, compress=False)
    text = _pdf_text(pdf)

    assert pdf.startswith(b"%PDF")
    assert _page_count(pdf) == 1
    assert re.search(rb"/BaseFont /[A-Z]{6}\+DejaVuSans\b", pdf)  # an embedded subset, not a reference
    assert b"/FontFile2" in pdf
    number = "R-" + payment.pk.hex[:8].upper()
    for expected in (number, inr_booking.reference, "Koramangala Garage", "₹1,00,000.00", "₹1,10,000.50"):
        assert expected in text, expected
    assert "Visa ending in 4242" in text
    assert "pi_123" in text
    assert car.plate not in text
    assert car.plate.encode() not in pdf


def test_compressed_pdf_embeds_the_font(usd_booking, driver):
    payment = _pay(usd_booking, driver)

    pdf = receipts.receipt_pdf(payment)

    assert pdf.startswith(b"%PDF")
    assert b"DejaVuSans" in pdf
    assert b"/FontFile2" in pdf
    assert len(pdf) < len(receipts.receipt_pdf(payment, compress=False))


def test_names_with_markup_characters_are_printed_as_text(usd_booking, driver, facility):
    facility.name = "Park & Ride <North>"
    facility.save(update_fields=["name"])
    payment = _pay(usd_booking, driver)

    text = _pdf_text(receipts.receipt_pdf(payment, compress=False))
    email = receipts.receipt_email(payment)

    assert "Park & Ride <North>" in text
    assert "Park &amp; Ride &lt;North&gt;" in email.alternatives[0][0]
    assert email.subject == f"Receipt for your parking at Park & Ride <North> — {usd_booking.reference}"


# ---------------------------------------------------------------------------- email


def test_receipt_email(usd_booking, driver, car, settings, django_assert_num_queries):
    settings.DEFAULT_FROM_EMAIL = "Receipts <receipts@parking.test>"
    payment = _pay(usd_booking, driver)
    number = "R-" + payment.pk.hex[:8].upper()

    with django_assert_num_queries(1):
        email = receipts.receipt_email(payment)
    email.send()

    assert [sent.subject for sent in mail.outbox] == [email.subject]
    assert email.subject == f"Receipt for your parking at Garage — {usd_booking.reference}"
    assert (email.to, email.from_email) == (["driver@example.com"], "Receipts <receipts@parking.test>")
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    for body in (email.body, html):
        for expected in ("$44.50", "$40.00", "$4.00", "$0.50", usd_booking.reference, number, "Visa ending in 4242"):
            assert expected in body, expected
        assert car.plate not in body
    [(filename, content, attachment_type)] = email.attachments
    assert (filename, attachment_type) == (f"receipt-{number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert b"DejaVuSans" in content
    assert car.plate.encode() not in content
    assert car.plate not in email.message().as_string()


def test_receipt_email_without_a_booking(usd_booking, driver):
    payment = _pay(
        usd_booking,
        driver,
        booking=None,
        purpose=PaymentPurpose.PASS,
        description="Monthly pass, March",
        amount=9900,
        owner_amount=9000,
        platform_amount=900,
    )
    payment_without_booking = Payment.objects.get(pk=payment.pk)
    number = "R-" + payment.pk.hex[:8].upper()

    email = receipts.receipt_email(payment_without_booking)

    assert email.subject == f"Receipt {number}"
    assert "Monthly pass, March: $99.00" in email.body
    assert "Total paid: $99.00" in email.body
    assert "(UTC time)" in email.body


def test_receipt_email_needs_a_driver_email(usd_booking, driver):
    payment = _pay(usd_booking, None)

    with pytest.raises(ValueError, match="no driver email"):
        receipts.receipt_email(payment)
