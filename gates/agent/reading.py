"""What the hardware read, what the agent decided, and the codes and messages of the contract.

``MESSAGES`` mirrors ``gates.services.MESSAGES`` (a test keeps the two equal) plus the agent's own
``snapshot_stale``. The limits mirror ``gates.api.serializers.DecisionInputSerializer``: a read the
platform would refuse as malformed is denied locally and never queued (it could never be uploaded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

ENTRY: Final = "entry"
EXIT: Final = "exit"
KINDS: Final = (ENTRY, EXIT)
OPEN: Final = "open"
DENY: Final = "deny"

QR: Final = "qr"
PLATE: Final = "plate"
REFERENCE: Final = "reference"
TICKET: Final = "ticket"

#: The agent's own reason: no snapshot, or the snapshot is past its ``valid_until``.
SNAPSHOT_STALE: Final = "snapshot_stale"

MESSAGES: Final[dict[str, str]] = {
    "ok": "Welcome",
    "re_entry": "Welcome back",
    "pass_valid": "Pass valid - welcome",
    "drive_in_started": "Ticket issued - welcome",
    "fee_charged_to_saved_card": "Fee charged to your card - goodbye",
    "already_checked_out": "Goodbye",
    "credential_not_accepted": "Not accepted at this gate",
    "wrong_direction": "Use the other lane",
    "invalid_credential": "Code not valid",
    "unknown_credential": "Booking not found",
    "wrong_facility": "Booking is for another car park",
    "too_early": "Too early - come back later",
    "outside_window": "Booking has ended",
    "booking_cancelled": "Booking was cancelled",
    "booking_expired": "Booking was not paid",
    "no_show": "Booking was released",
    "booking_completed": "Booking already used",
    "payment_required": "Please pay at the booth",
    "already_inside": "Already inside",
    "not_inside": "No entry recorded",
    "manual_review": "Please wait - staff will check",
    "facility_full": "Car park full",
    "no_booking": "No booking found",
    SNAPSHOT_STALE: "Please wait - staff will help",
}

# DecisionInputSerializer's limits.
MAX_QR: Final = 2000
MAX_PLATE: Final = 32
MAX_REFERENCE: Final = 16


def message_for(reason: str) -> str:
    return MESSAGES.get(reason, "Please wait")


@dataclass(frozen=True)
class Reading:
    """One credential as read at the lane. Exactly one of ``qr_code``, ``license_plate``,
    ``booking_reference``, ``ticket`` is set. ``plate_index`` is the plate's blind index when the
    camera can compute it (it needs the platform's index key); it is used offline only and never sent."""

    qr_code: str = ""
    license_plate: str = ""
    confidence: Decimal | None = None
    booking_reference: str = ""
    ticket: str = ""
    plate_index: str = ""

    @property
    def type(self) -> str:
        """The credential type as in ``gates.models.CredentialType`` (same precedence as the server)."""
        if self.qr_code:
            return QR
        if self.license_plate:
            return PLATE
        if self.ticket:
            return TICKET
        return REFERENCE

    @property
    def reference(self) -> str:
        """The booking reference a reference/ticket read names, as the server looks it up."""
        return (self.ticket or self.booking_reference).strip().upper()

    def problem(self) -> str | None:
        """Why the platform would reject this read as malformed (HTTP 400), or ``None``."""
        given = [v for v in (self.qr_code, self.license_plate, self.booking_reference, self.ticket) if v.strip()]
        if len(given) != 1:
            return "exactly one credential is required"
        if len(self.qr_code) > MAX_QR or len(self.license_plate) > MAX_PLATE:
            return "credential too long"
        if len(self.booking_reference.strip()) > MAX_REFERENCE or len(self.ticket.strip()) > MAX_REFERENCE:
            return "reference too long"
        if self.confidence is not None:
            if not self.confidence.is_finite() or not Decimal(0) <= self.confidence <= Decimal(1):
                return "confidence must be between 0 and 1"
            if self.confidence != self.confidence.quantize(Decimal("0.001")):
                return "confidence has more than 3 decimals"
        return None

    def payload(self) -> dict[str, Any]:
        """The credential fields of a decision or event request."""
        if self.qr_code:
            return {"qr_code": self.qr_code.strip()}
        if self.license_plate:
            body: dict[str, Any] = {"license_plate": self.license_plate.strip()}
            if self.confidence is not None:
                body["confidence"] = str(self.confidence)
            return body
        if self.ticket:
            return {"ticket": self.reference}
        return {"booking_reference": self.reference}

    def to_json(self) -> str:
        """For the outbox (the camera's ``plate_index`` is not kept: it is not uploaded)."""
        return json.dumps(self.payload(), sort_keys=True)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reading:
        confidence = payload.get("confidence")
        try:
            parsed = Decimal(str(confidence)) if confidence is not None else None
        except InvalidOperation:
            parsed = None
        return cls(
            qr_code=str(payload.get("qr_code", "")),
            license_plate=str(payload.get("license_plate", "")),
            confidence=parsed,
            booking_reference=str(payload.get("booking_reference", "")),
            ticket=str(payload.get("ticket", "")),
        )


@dataclass(frozen=True)
class Verdict:
    """An offline decision: what to do and, for an opening, the local presence it implies."""

    decision: str
    reason: str
    reference: str | None = None
    #: ``inside`` / ``left``: the presence of ``reference`` after this decision (anti-passback).
    presence: str | None = None

    @property
    def opens(self) -> bool:
        return self.decision == OPEN


def deny(reason: str, reference: str | None = None) -> Verdict:
    return Verdict(DENY, reason, reference)


@dataclass(frozen=True)
class Outcome:
    """What the agent decided for one read, live or offline, and what it did."""

    event_id: str
    kind: str
    occurred_at: datetime
    decision: str
    reason_code: str
    message: str
    open_seconds: int
    offline: bool
    reference: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def opens(self) -> bool:
        return self.decision == OPEN

    def line(self) -> str:
        """``<event_id> <open|deny> <reason_code> <online|offline>`` (the ``--simulate`` output)."""
        return f"{self.event_id} {self.decision} {self.reason_code} {'offline' if self.offline else 'online'}"
