"""Stripe: PaymentIntents (Payment Element on the client) to collect, the Refunds API, Connect transfers
for owner payouts, off-session charges of a saved card (no-show and overstay fees), and webhooks signed
with ``Stripe-Signature``.

Flow: ``create_payment`` creates an automatically captured PaymentIntent and hands its client secret
to the client SDK; webhooks and reconciliation (``fetch_payment``) converge on the same state. Our
``Payment.provider_payment_id`` is the PaymentIntent id (``pi_…``).

HTTP goes through one ``stripe.StripeClient`` per provider instance (never the global
``stripe.api_key``) on the library's ``requests`` client, with a timeout on every call and
``max_network_retries=2``: the library itself retries a connection error, a timeout, a 409 and a 5xx
with the SAME ``Idempotency-Key`` header (we set it from our row id on every mutating call), so a
retry can never charge, refund or transfer twice. What still fails becomes our provider errors
(``_call``): no answer, 409, 429, 5xx or any other Stripe error → ``ProviderUnavailableError`` (retry
later, with the same idempotency key); 401/403 → ``ProviderNotConfiguredError`` (wrong or restricted
keys); ``CardError`` and ``InvalidRequestError`` → ``ProviderDeclinedError`` with Stripe's own message.
Secrets are never logged, put in an error message nor chained to one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import stripe

from payments.models import PaymentStatus, RefundStatus

from .base import (
    Checkout,
    PaymentProvider,
    ProviderDeclinedError,
    ProviderNotConfiguredError,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailableError,
    WebhookNotice,
    WebhookSignatureError,
    webhook_header,
)

# No request telemetry to Stripe and no ~/.config/stripe/telemetry_id written by the library.
stripe.enable_telemetry = False

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams

    from accounts.models import User
    from payments.models import Payment, Payout, Refund

logger = logging.getLogger(__name__)

#: (connect, read) seconds for each HTTP attempt (the library's default is 80 s).
TIMEOUT = (5.0, 30.0)
#: Retries by the library after a connection error, timeout, 409 or 5xx, with the same idempotency key.
MAX_NETWORK_RETRIES = 2

SIGNATURE_HEADER = "Stripe-Signature"
#: How far (seconds) a webhook's signed timestamp may be from our clock, in either direction.
WEBHOOK_TOLERANCE = 300
_SIGNATURE_SCHEME = "v1"
_MAX_SIGNATURE_HEADER_LENGTH = 4096  # Stripe sends ~150 characters per secret being rolled
_MAX_TIMESTAMP_DIGITS = 12
_MAX_EVENT_ID_LENGTH = 255  # WebhookEvent.event_id
_CUSTOMER_SEARCH_LIMIT = 10

# PaymentIntent.status → PaymentStatus. ``requires_payment_method`` after a declined attempt is
# FAILED (see ``_intent_status``); ``requires_capture`` cannot last with automatic capture.
_INTENT_STATUS: dict[str, str] = {
    "requires_payment_method": PaymentStatus.CREATED,
    "requires_confirmation": PaymentStatus.CREATED,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PROCESSING,
    "requires_capture": PaymentStatus.PROCESSING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELLED,
}
_REFUND_STATUS: dict[str, str] = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
_PAYMENT_EVENTS: dict[str, str] = {
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.processing": PaymentStatus.PROCESSING,
    "payment_intent.requires_action": PaymentStatus.REQUIRES_ACTION,
    "payment_intent.canceled": PaymentStatus.CANCELLED,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})


class StripeProvider(PaymentProvider):
    name = "stripe"
    label = "Stripe"
    supports_off_session = True
    supports_transfers = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.publishable_key = str(config.get("publishable_key") or "")
        self._secret_key = str(config.get("secret_key") or "")
        self._webhook_secret = str(config.get("webhook_secret") or "")
        # The library appends ``/v1/...`` to the base itself; every base goes to the same server so
        # that nothing reaches the real Stripe when a mock server is configured.
        api_base = str(config.get("api_base") or "").rstrip("/").removesuffix("/v1")
        self._client = stripe.StripeClient(
            self._secret_key,
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
            max_network_retries=MAX_NETWORK_RETRIES,
            base_addresses=(
                {"api": api_base, "connect": api_base, "files": api_base, "meter_events": api_base}
                if api_base
                else None
            ),
        )

    def __repr__(self) -> str:  # never show the secrets
        return f"<StripeProvider publishable_key={self.publishable_key!r}>"

    def is_configured(self) -> bool:
        return bool(self._secret_key and self.publishable_key and self._webhook_secret)

    # ------------------------------------------------------------------------------------ collect

    def create_payment(self, *, payment: Payment, customer: User | None) -> Checkout:
        """Create an automatically captured PaymentIntent for ``payment.amount`` (minor units).

        With a driver, the intent belongs to their Stripe Customer (``_customer_get_or_create``) and
        saves the method for later off-session charges (``setup_future_usage=off_session``).
        Idempotency key ``payment-<id>``: a retry returns the same intent."""
        self.ensure_configured()
        params: PaymentIntentCreateParams = {
            "amount": payment.amount,
            "currency": payment.currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            "metadata": _payment_metadata(payment),
        }
        if customer is not None:
            params["customer"] = self._customer_get_or_create(customer)
            params["setup_future_usage"] = "off_session"
        intent = self._call(
            "create payment intent",
            lambda: self._client.v1.payment_intents.create(
                params, options={"idempotency_key": f"payment-{payment.pk}"}
            ),
        )
        intent_id, client_secret = _str(intent.get("id")), _str(intent.get("client_secret"))
        if not intent_id or not client_secret:
            raise ProviderUnavailableError("Stripe answered without a PaymentIntent; try again later.")
        return Checkout(
            provider_payment_id=intent_id,
            client_data={
                "client_secret": client_secret,
                "publishable_key": self.publishable_key,
                "payment_intent": intent_id,
            },
            status=_intent_status(intent) or PaymentStatus.CREATED,
        )

    def fetch_payment(self, *, payment: Payment) -> ProviderPayment:
        """The PaymentIntent as Stripe sees it now, with the card of its latest charge."""
        self.ensure_configured()
        intent_id = _intent_id(payment)
        intent = self._call(
            "fetch payment intent",
            lambda: self._client.v1.payment_intents.retrieve(intent_id, {"expand": ["latest_charge"]}),
        )
        return _payment_state(intent, _intent_status(intent))

    def charge_off_session(self, *, payment: Payment, customer: User) -> ProviderPayment:
        """Charge ``payment.amount`` to the driver's first saved card without them present.

        The Customer is only looked up, never created: no Customer means no saved card, and both
        raise ``ProviderDeclinedError("No saved payment method.")``. A declined card (or one that
        needs the driver to authenticate) raises ``ProviderDeclinedError`` with Stripe's message.
        Idempotency key ``payment-<id>``: a retry returns the same intent (or the same decline)."""
        self.ensure_configured()
        customer_id = self._customer_find(customer)
        methods: list[Any] = []
        if customer_id is not None:
            listed = self._call(
                "list payment methods",
                lambda: self._client.v1.customers.payment_methods.list(customer_id, {"type": "card", "limit": 1}),
            )
            methods = [method for method in _list(listed.get("data")) if _str(_dict(method).get("id"))]
        if customer_id is None or not methods:
            raise ProviderDeclinedError("No saved payment method.")
        params: PaymentIntentCreateParams = {
            "amount": payment.amount,
            "currency": payment.currency.lower(),
            "customer": customer_id,
            "payment_method": _str(methods[0]["id"]),
            # Nobody is there to follow a redirect (and so no return_url is needed).
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "off_session": True,
            "confirm": True,
            "metadata": _payment_metadata(payment),
            "expand": ["latest_charge"],
        }
        intent = self._call(
            "charge off session",
            lambda: self._client.v1.payment_intents.create(
                params, options={"idempotency_key": f"payment-{payment.pk}"}
            ),
        )
        if not _str(intent.get("id")):
            raise ProviderUnavailableError("Stripe answered without a PaymentIntent; try again later.")
        return _payment_state(intent, _intent_status(intent))

    # ------------------------------------------------------------------------------------ refund

    def refund(self, *, payment: Payment, refund: Refund) -> ProviderRefund:
        """Refund ``refund.amount`` of the PaymentIntent. Idempotency key ``refund-<refund id>`` with
        an identical body on every attempt: a retry after a timeout returns the same Stripe refund."""
        self.ensure_configured()
        intent_id = _intent_id(payment)
        answer = self._call(
            "refund",
            lambda: self._client.v1.refunds.create(
                {
                    "payment_intent": intent_id,
                    "amount": refund.amount,
                    "metadata": {"refund_id": str(refund.pk), "payment_id": str(payment.pk)},
                },
                options={"idempotency_key": f"refund-{refund.pk}"},
            ),
        )
        if not _str(answer.get("id")):
            raise ProviderUnavailableError("Stripe answered without a refund id; try again later.")
        return _refund_state(answer)

    # ------------------------------------------------------------------------------------ payout

    def transfer(self, *, payout: Payout) -> str:
        """A Connect transfer of ``payout.amount`` from the platform balance to the connected account
        ``payout.account_id``. Idempotency key ``payout-<id>``. Returns the transfer id (``tr_…``)."""
        self.ensure_configured()
        answer = self._call(
            "transfer",
            lambda: self._client.v1.transfers.create(
                {
                    "amount": payout.amount,
                    "currency": payout.currency.lower(),
                    "destination": payout.account_id,
                    "metadata": {"payout_id": str(payout.pk)},
                },
                options={"idempotency_key": f"payout-{payout.pk}"},
            ),
        )
        transfer_id = _str(answer.get("id"))
        if not transfer_id:
            raise ProviderUnavailableError("Stripe answered without a transfer id; try again later.")
        return transfer_id

    # ------------------------------------------------------------------------------------ webhooks

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        """Verify and parse one delivery. Anything that cannot be trusted raises
        ``WebhookSignatureError`` and nothing else:

        - a missing or empty ``Stripe-Signature`` (looked up case-insensitively; two different values
          under different spellings are refused), one that is not printable ASCII, too long, or not
          ``t=<digits>`` exactly once plus at least one non-empty ``v1=`` (other schemes, such as
          ``v0``, are ignored);
        - a body that is not UTF-8;
        - no ``v1`` value equal to hex HMAC-SHA256(webhook secret, ``"<t>.<body>"``), checked by the
          library's ``WebhookSignature.verify_header`` (constant-time; one valid value among several
          is enough, as when Stripe rolls the secret);
        - ``|now - t| > 300`` seconds, past or FUTURE (the library alone accepts any future ``t``);
        - a body that is not a JSON object with a non-empty ``id`` and ``type``.

        An authentic event we do not act on comes back with neither ``payment`` nor ``refund``."""
        if not self._webhook_secret:
            raise WebhookSignatureError("Stripe webhooks are not configured.")
        header = webhook_header(headers, SIGNATURE_HEADER)
        if not header:
            raise WebhookSignatureError(f"Missing {SIGNATURE_HEADER} header.")
        timestamp, signatures = _signature_parts(header)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookSignatureError("The webhook body is not UTF-8.") from None
        # The library verifies exactly what we parsed (not the raw header, which it parses loosely).
        canonical = ",".join([f"t={timestamp}", *(f"{_SIGNATURE_SCHEME}={value}" for value in signatures)])
        try:
            stripe.WebhookSignature.verify_header(text, canonical, self._webhook_secret, WEBHOOK_TOLERANCE)
        except Exception:  # SignatureVerificationError, or anything else it trips on: never a 500
            raise WebhookSignatureError("The Stripe webhook signature does not match.") from None
        if abs(time.time() - timestamp) > WEBHOOK_TOLERANCE:
            raise WebhookSignatureError("The Stripe webhook timestamp is outside the tolerance window.")
        try:
            event = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise WebhookSignatureError("The webhook body is not JSON.") from None
        if not isinstance(event, dict):
            raise WebhookSignatureError("The webhook body is not a Stripe event.")
        event_id, event_type = event.get("id"), event.get("type")
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str) and event_type):
            raise WebhookSignatureError("The webhook body is not a Stripe event.")
        if len(event_id) > _MAX_EVENT_ID_LENGTH or not (event_id.isascii() and event_id.isprintable()):
            raise WebhookSignatureError("The webhook event id is malformed.")
        obj = _dict(_dict(event.get("data")).get("object"))
        if event_type in _PAYMENT_EVENTS:
            return _payment_notice(event_id, event_type, event, obj)
        if event_type in _REFUND_EVENTS:
            return _refund_notice(event_id, event_type, event, obj)
        return WebhookNotice(event_id=event_id, type=event_type, payload=event)

    # ------------------------------------------------------------------------------------ customers

    def _customer_find(self, user: User) -> str | None:
        """The driver's Stripe Customer id (the oldest Customer with ``metadata.user_id``), or None.

        Search is eventually consistent (usually under a minute behind): a Customer created moments
        ago may not be found yet, which ``_customer_get_or_create`` covers with its idempotency key.
        Stripe offers no search to accounts in India (those are served by Razorpay): there a search
        is refused and the call is declined."""
        query = f"metadata['user_id']:'{user.pk}'"
        found = self._call(
            "search customers",
            lambda: self._client.v1.customers.search({"query": query, "limit": _CUSTOMER_SEARCH_LIMIT}),
        )
        customers = [item for item in (_dict(entry) for entry in _list(found.get("data"))) if _str(item.get("id"))]
        if not customers:
            return None
        oldest = min(customers, key=lambda item: (_int(item.get("created")) or 0, _str(item.get("id"))))
        return _str(oldest["id"])

    def _customer_get_or_create(self, user: User) -> str:
        """Find the driver's Customer by ``metadata.user_id``, else create one.

        The creation carries idempotency key ``customer-<user id>`` and the same body every time
        (only ``metadata.user_id``: no email, which may change and would make Stripe refuse the
        replayed key), so two payments inside Stripe's 24 h key window, while search has not caught
        up, get the same Customer; after the window, search finds it."""
        existing = self._customer_find(user)
        if existing is not None:
            return existing
        created = self._call(
            "create customer",
            lambda: self._client.v1.customers.create(
                {"metadata": {"user_id": str(user.pk)}}, options={"idempotency_key": f"customer-{user.pk}"}
            ),
        )
        customer_id = _str(created.get("id"))
        if not customer_id:
            raise ProviderUnavailableError("Stripe answered without a customer id; try again later.")
        return customer_id

    # ------------------------------------------------------------------------------------ HTTP

    def _call(self, operation: str, request: Callable[[], Any]) -> dict[str, Any]:
        """Make one library call (its retries included) and translate its failures into our errors.

        Exceptions are raised ``from None``: a library error may chain the ``requests`` exception,
        whose request carries the ``Authorization`` header."""
        try:
            answer = request()
        except stripe.CardError as exc:
            raise ProviderDeclinedError(exc.user_message or f"Stripe declined the card ({operation}).") from None
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            logger.error("payments: stripe rejected the API key on %s: %s", operation, type(exc).__name__)
            raise ProviderNotConfiguredError("Stripe rejected this server's API key.", attr="provider") from None
        except stripe.InvalidRequestError as exc:
            logger.warning("payments: stripe refused %s: %s", operation, exc.user_message)
            raise ProviderDeclinedError(exc.user_message or f"Stripe refused the request ({operation}).") from None
        except stripe.StripeError as exc:
            # APIConnectionError (no answer after the retries), RateLimitError, APIError (5xx, 409,
            # unreadable answer), IdempotencyError (never fail a refund that may have happened).
            logger.warning(
                "payments: stripe %s unavailable: %s (status %s)", operation, type(exc).__name__, exc.http_status
            )
            raise ProviderUnavailableError(f"Stripe is unavailable ({operation}); try again later.") from None
        if not isinstance(answer, stripe.StripeObject):
            raise ProviderUnavailableError(f"Stripe gave an unexpected answer ({operation}); try again later.")
        return answer.to_dict()


# ---------------------------------------------------------------------------------------- helpers


def _payment_metadata(payment: Payment) -> dict[str, str]:
    metadata = {"payment_id": str(payment.pk), "organization_id": str(payment.organization_id)}
    if payment.booking_id:
        metadata["booking_id"] = str(payment.booking_id)
    return metadata


def _intent_id(payment: Payment) -> str:
    if not payment.provider_payment_id:
        raise ProviderDeclinedError("This payment has no Stripe PaymentIntent.", code="no_provider_payment")
    return payment.provider_payment_id


def _intent_status(intent: Mapping[str, Any]) -> str | None:
    """Our status of a PaymentIntent; None for a status we do not know (it changes nothing)."""
    status = _str(intent.get("status"))
    if status == "requires_payment_method" and _dict(intent.get("last_payment_error")):
        return PaymentStatus.FAILED  # an attempt was declined; the driver may still retry on this intent
    return _INTENT_STATUS.get(status)


def _payment_state(intent: Mapping[str, Any], status: str | None) -> ProviderPayment:
    """A PaymentIntent (``latest_charge`` expanded or not) as a ``ProviderPayment``."""
    brand, last4 = _card(intent.get("latest_charge"))
    currency = _str(intent.get("currency")).upper()
    return ProviderPayment(
        provider_payment_id=_str(intent.get("id")),
        status=status,
        failure_reason=_failure_reason(intent) if status == PaymentStatus.FAILED else "",
        card_brand=brand,
        card_last4=last4,
        amount=_int(intent.get("amount")),
        currency=currency or None,
    )


def _failure_reason(intent: Mapping[str, Any]) -> str:
    error = _dict(intent.get("last_payment_error"))
    return _str(error.get("message")) or _str(error.get("code")) or "The payment failed."


def _card(charge: Any) -> tuple[str, str]:
    """Brand and last 4 digits from an expanded charge's card details, nothing else (an unexpanded
    charge is just its id)."""
    card = _dict(_dict(_dict(charge).get("payment_method_details")).get("card"))
    last4 = _str(card.get("last4"))
    if len(last4) != 4 or not (last4.isascii() and last4.isdigit()):
        return "", ""
    return _str(card.get("brand")), last4


def _refund_state(refund: Mapping[str, Any], *, failed: bool = False) -> ProviderRefund:
    stripe_status = _str(refund.get("status"))
    status = RefundStatus.FAILED if failed else _REFUND_STATUS.get(stripe_status, RefundStatus.PENDING)
    failure_reason = ""
    if status == RefundStatus.FAILED:
        reason = _str(refund.get("failure_reason"))
        failure_reason = f"Stripe reported the refund as {stripe_status or 'failed'}" + (
            f" ({reason})." if reason else "."
        )
    return ProviderRefund(provider_refund_id=_str(refund.get("id")), status=status, failure_reason=failure_reason)


def _payment_notice(event_id: str, event_type: str, event: dict[str, Any], intent: dict[str, Any]) -> WebhookNotice:
    if not _str(intent.get("id")):  # never match a payment by an empty id
        return WebhookNotice(event_id=event_id, type=event_type, payload=event)
    our_payment_id = _str(_dict(intent.get("metadata")).get("payment_id")) or None
    return WebhookNotice(
        event_id=event_id,
        type=event_type,
        payload=event,
        payment=_payment_state(intent, _PAYMENT_EVENTS[event_type]),
        our_payment_id=our_payment_id,
    )


def _refund_notice(event_id: str, event_type: str, event: dict[str, Any], refund: dict[str, Any]) -> WebhookNotice:
    our_refund_id = _str(_dict(refund.get("metadata")).get("refund_id")) or None
    if not _str(refund.get("id")) and our_refund_id is None:
        return WebhookNotice(event_id=event_id, type=event_type, payload=event)
    intent = refund.get("payment_intent")
    intent_id = _str(_dict(intent).get("id")) if isinstance(intent, dict) else _str(intent)
    return WebhookNotice(
        event_id=event_id,
        type=event_type,
        payload=event,
        refund=_refund_state(refund, failed=event_type == "refund.failed"),
        extra={"refund_id": our_refund_id, "provider_payment_id": intent_id or None},
    )


def _signature_parts(header: str) -> tuple[int, list[str]]:
    """``t=<digits>,v1=<sig>[,v1=<sig>…][,v0=…]`` → (t, the v1 values). Strict: exactly one ``t`` of
    ASCII digits, every item ``key=value`` with both non-empty, at least one ``v1``."""
    malformed = WebhookSignatureError(f"Malformed {SIGNATURE_HEADER} header.")
    if len(header) > _MAX_SIGNATURE_HEADER_LENGTH or not (header.isascii() and header.isprintable()):
        raise malformed
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, separator, value = item.partition("=")
        if not (key and separator and value):
            raise malformed
        if key == "t":
            timestamps.append(value)
        elif key == _SIGNATURE_SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not signatures:
        raise malformed
    timestamp = timestamps[0]
    if len(timestamp) > _MAX_TIMESTAMP_DIGITS or not timestamp.isdigit():  # ASCII already: 0-9 only
        raise malformed
    return int(timestamp), signatures


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: valid for Python, not for PostgreSQL's JSON


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
