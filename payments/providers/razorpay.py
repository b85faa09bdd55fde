"""Razorpay (India): Orders + Standard Checkout to collect, the Refunds API, Route direct transfers
for owner payouts, and webhooks signed with ``X-Razorpay-Signature``.

Flow: ``create_payment`` creates an Order (auto capture) and returns what Checkout needs; Checkout's
success callback posts order id, payment id and signature to our verify endpoint
(``verify_checkout``); webhooks and reconciliation (``fetch_payment``) converge on the same state.
Our ``Payment.provider_payment_id`` is the Razorpay ORDER id: an order may see several payment
attempts (``pay_…``), of which at most one is captured.

HTTP goes through the official ``razorpay`` client, one ``requests`` session per provider instance,
with a timeout on every call. Errors become our provider errors (``_call``): no answer, 409 (a request
with the same idempotency key is still in flight), 429 and 5xx → ``ProviderUnavailableError`` (retry
later, with the same idempotency key); 401 → ``ProviderNotConfiguredError`` (wrong keys); Razorpay's
``BAD_REQUEST_ERROR`` → ``ProviderDeclinedError`` with Razorpay's description. Secrets are never
logged nor put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import string
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError

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

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment, Payout, Refund

logger = logging.getLogger(__name__)

#: (connect, read) seconds for every API call; the library sets none (a hung call would block a worker).
TIMEOUT = (5, 30)

SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"
REFUND_IDEMPOTENCY_HEADER = "X-Refund-Idempotency"
TRANSFER_IDEMPOTENCY_HEADER = "X-Transfer-Idempotency"

_HEX_DIGITS = frozenset(string.hexdigits)
_SHA256_HEX_LENGTH = 64
_MAX_EVENT_ID_LENGTH = 255  # WebhookEvent.event_id

# A Razorpay payment's status. ``authorized`` with auto capture means the capture is pending;
# ``refunded`` was paid first (refunds are our Refund rows, not a payment status).
_PAYMENT_STATUS: dict[str, str] = {
    "created": PaymentStatus.CREATED,
    "authorized": PaymentStatus.PROCESSING,
    "captured": PaymentStatus.SUCCEEDED,
    "refunded": PaymentStatus.SUCCEEDED,
    "failed": PaymentStatus.FAILED,
}
# Which of an order's payment attempts tells its state (fetch_payment): the best one wins.
_ATTEMPT_RANK: dict[str, int] = {"captured": 4, "refunded": 4, "authorized": 3, "failed": 2, "created": 1}
# A payment that took the money (``refunded`` too: a full refund retried after a timeout finds it so).
_CAPTURED = frozenset({"captured", "refunded"})

_ORDER_STATUS: dict[str, str] = {
    "created": PaymentStatus.CREATED,
    "attempted": PaymentStatus.PROCESSING,
    "paid": PaymentStatus.SUCCEEDED,
}
_REFUND_STATUS: dict[str, str] = {
    "pending": RefundStatus.PENDING,
    "processed": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
}

_PAYMENT_EVENTS: dict[str, str] = {
    "payment.authorized": PaymentStatus.PROCESSING,
    "payment.captured": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
    "order.paid": PaymentStatus.SUCCEEDED,
}
_REFUND_EVENTS: dict[str, str] = {
    "refund.created": RefundStatus.PENDING,
    "refund.processed": RefundStatus.SUCCEEDED,
    "refund.failed": RefundStatus.FAILED,
}


class _AuthenticationFailed(Exception):
    """Razorpay answered 401: the key id or secret is wrong."""


class _TryLater(Exception):
    """Razorpay answered 409 (same idempotency key in flight), 429 or 5xx."""


def _check_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A session response hook, run before the library reads the answer: the library keeps no status
    code and turns a 401, 409 or 429 (Razorpay's code ``BAD_REQUEST_ERROR``) into a "bad request",
    which would wrongly fail a refund that only has to be retried."""
    status = response.status_code
    if status == HTTPStatus.UNAUTHORIZED:
        response.close()  # nothing else reads this response
        raise _AuthenticationFailed
    if status in (HTTPStatus.CONFLICT, HTTPStatus.TOO_MANY_REQUESTS) or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        response.close()
        raise _TryLater(status)


class RazorpayProvider(PaymentProvider):
    name = "razorpay"
    label = "Razorpay"
    supports_transfers = True
    supports_off_session = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.key_id = str(config.get("key_id") or "")
        self._key_secret = str(config.get("key_secret") or "")
        self._webhook_secret = str(config.get("webhook_secret") or "")
        session = requests.Session()
        session.hooks["response"].append(_check_status)
        options: dict[str, Any] = {}
        api_base = str(config.get("api_base") or "").rstrip("/")
        if api_base:
            # The library's ``base_url`` is the host root: it appends ``/v1/...`` itself.
            options["base_url"] = api_base.removesuffix("/v1")
        self._client: Any = razorpay.Client(session=session, auth=(self.key_id, self._key_secret), **options)

    def __repr__(self) -> str:  # never show the secrets
        return f"<RazorpayProvider key_id={self.key_id!r}>"

    def is_configured(self) -> bool:
        return bool(self.key_id and self._key_secret and self._webhook_secret)

    # ------------------------------------------------------------------------------------ collect

    def create_payment(self, *, payment: Payment, customer: User | None) -> Checkout:
        """Create an auto-capturing Order for ``payment.amount`` (minor units, paise for INR).

        Orders have no idempotency header (``receipt`` is only a reference). A retry after a timeout
        may leave a second, unused order behind: harmless, because an order is not a charge: money
        moves only when the customer pays the order id we stored and handed to Checkout, and the
        service stores one order id per payment and never creates again once it has one."""
        self.ensure_configured()
        notes = {"payment_id": str(payment.pk), "organization_id": str(payment.organization_id)}
        if payment.booking_id:
            notes["booking_id"] = str(payment.booking_id)
        order = self._call(
            "create order",
            self._client.order.create,
            {
                "amount": payment.amount,
                "currency": payment.currency,
                "receipt": str(payment.pk)[:40],
                "notes": notes,
                "payment_capture": 1,
            },
        )
        order_id = _str(order.get("id"))
        if not order_id:
            raise ProviderUnavailableError("Razorpay answered without an order id; try again later.")
        return Checkout(
            provider_payment_id=order_id,
            client_data={
                "order_id": order_id,
                "key_id": self.key_id,
                "amount": payment.amount,
                "currency": payment.currency,
            },
            status=PaymentStatus.CREATED,
        )

    def verify_checkout(self, *, order_id: str, payment_id: str, signature: str) -> ProviderPayment:
        """Check Checkout's success callback, then fetch the payment (its real state, amount, card).

        The signature is hex HMAC-SHA256(key secret, ``"<order_id>|<payment_id>"``), compared in
        constant time; a wrong one is a 400 ``invalid_signature`` on ``razorpay_signature`` and no
        call is made. ``provider_payment_id`` of the answer is the order id (our reference)."""
        self.ensure_configured()
        expected = _hmac_hex(self._key_secret, f"{order_id}|{payment_id}".encode())
        if not _hex_equal(expected, signature):
            raise ProviderDeclinedError(
                "The Razorpay payment signature is not valid.",
                code="invalid_signature",
                attr="razorpay_signature",
                http_status=HTTPStatus.BAD_REQUEST,
            )
        entity = self._call("fetch payment", self._client.payment.fetch, payment_id, {"expand[]": "card"})
        if _str(entity.get("order_id")) != order_id:
            raise ProviderDeclinedError(
                "This Razorpay payment does not belong to that order.",
                code="order_mismatch",
                attr="razorpay_payment_id",
                http_status=HTTPStatus.BAD_REQUEST,
            )
        return _payment_state(order_id, entity, _PAYMENT_STATUS.get(_str(entity.get("status"))))

    def fetch_payment(self, *, payment: Payment) -> ProviderPayment:
        """The order's state from its payment attempts: the best one wins (captured/refunded >
        authorized > failed > created). No attempt yet: the order is still ``created``."""
        self.ensure_configured()
        order_id = _order_id(payment)
        attempts = self._order_payments(order_id)
        if not attempts:
            return ProviderPayment(provider_payment_id=order_id, status=_ORDER_STATUS["created"])
        best = max(attempts, key=lambda attempt: _ATTEMPT_RANK.get(_str(attempt.get("status")), 0))
        return _payment_state(order_id, best, _PAYMENT_STATUS.get(_str(best.get("status"))))

    # ------------------------------------------------------------------------------------ refund

    def refund(self, *, payment: Payment, refund: Refund) -> ProviderRefund:
        """Refund ``refund.amount`` of the order's captured payment.

        ``X-Refund-Idempotency: refund-<refund id>`` with an identical body on every attempt: a retry
        after a timeout (or a 409 while the first is in flight) returns the same Razorpay refund."""
        self.ensure_configured()
        captured = [
            attempt for attempt in self._order_payments(_order_id(payment)) if _str(attempt.get("status")) in _CAPTURED
        ]
        razorpay_payment_id = _str(captured[0].get("id")) if captured else ""
        if not razorpay_payment_id:
            raise ProviderDeclinedError("This Razorpay order has no captured payment to refund.", code="not_captured")
        answer = self._call(
            "refund",
            self._client.payment.refund,
            razorpay_payment_id,
            {"amount": refund.amount, "notes": {"refund_id": str(refund.pk), "payment_id": str(payment.pk)}},
            headers={REFUND_IDEMPOTENCY_HEADER: f"refund-{refund.pk}"},
        )
        status = _REFUND_STATUS.get(_str(answer.get("status")), RefundStatus.PENDING)
        return ProviderRefund(
            provider_refund_id=_str(answer.get("id")),
            status=status,
            failure_reason="Razorpay reported the refund as failed." if status == RefundStatus.FAILED else "",
        )

    # ------------------------------------------------------------------------------------ payout

    def transfer(self, *, payout: Payout) -> str:
        """A Route direct transfer of ``payout.amount`` from the platform balance to the linked
        account ``payout.account_id``. Returns the transfer id (``trf_…``).

        Idempotent with ``X-Transfer-Idempotency``. Razorpay allows 4-36 characters there, so the key
        is the payout's UUID itself (36), not ``payout-<id>`` (43). A transfer Razorpay reports
        ``failed`` raises ``ProviderDeclinedError``; note that replaying the same key is expected to
        return that same failed transfer, so retrying a genuinely failed payout needs a new payout row."""
        self.ensure_configured()
        answer = self._call(
            "transfer",
            self._client.transfer.create,
            {
                "account": payout.account_id,
                "amount": payout.amount,
                "currency": payout.currency,
                "notes": {"payout_id": str(payout.pk)},
            },
            headers={TRANSFER_IDEMPOTENCY_HEADER: str(payout.pk)},
        )
        if _str(answer.get("status")) == "failed":
            error = _dict(answer.get("error"))
            raise ProviderDeclinedError(_str(error.get("description")) or "Razorpay could not make the transfer.")
        transfer_id = _str(answer.get("id"))
        if not transfer_id:
            raise ProviderUnavailableError("Razorpay answered without a transfer id; try again later.")
        return transfer_id

    # ------------------------------------------------------------------------------------ webhooks

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        """Verify and parse one delivery. Anything that cannot be trusted raises
        ``WebhookSignatureError`` and nothing else: a missing, empty, non-ASCII or non-hex
        ``X-Razorpay-Signature``; a signature that is not hex HMAC-SHA256(webhook secret, raw body)
        (constant-time compare); a missing ``X-Razorpay-Event-Id``; a body that is not a UTF-8 JSON
        object with an ``event`` string. An authentic event we do not act on has no payment/refund."""
        if not self._webhook_secret:
            raise WebhookSignatureError("Razorpay webhooks are not configured.")
        signature = webhook_header(headers, SIGNATURE_HEADER)
        if not signature:
            raise WebhookSignatureError(f"Missing {SIGNATURE_HEADER} header.")
        if not _is_sha256_hex(signature):
            raise WebhookSignatureError(f"Malformed {SIGNATURE_HEADER} header.")
        if not _hex_equal(_hmac_hex(self._webhook_secret, body), signature):
            raise WebhookSignatureError("The Razorpay webhook signature does not match.")
        event_id = webhook_header(headers, EVENT_ID_HEADER)
        if not event_id or len(event_id) > _MAX_EVENT_ID_LENGTH or not (event_id.isascii() and event_id.isprintable()):
            raise WebhookSignatureError(f"Missing or malformed {EVENT_ID_HEADER} header.")
        try:
            event = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WebhookSignatureError("The webhook body is not UTF-8 JSON.") from exc
        if not isinstance(event, dict) or not isinstance(event.get("event"), str) or not event["event"]:
            raise WebhookSignatureError("The webhook body is not a Razorpay event.")
        event_type: str = event["event"]
        entities = _dict(event.get("payload"))
        if event_type in _PAYMENT_EVENTS:
            return _payment_notice(event_id, event_type, event, entities)
        if event_type in _REFUND_EVENTS:
            return _refund_notice(event_id, event_type, event, entities)
        return WebhookNotice(event_id=event_id, type=event_type, payload=event)

    # ------------------------------------------------------------------------------------ HTTP

    def _order_payments(self, order_id: str) -> list[dict[str, Any]]:
        answer = self._call("fetch order payments", self._client.order.payments, order_id)
        items = answer.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def _call(self, operation: str, method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call a library method with our timeout; translate its failures into our provider errors."""
        try:
            answer = method(*args, timeout=TIMEOUT, **kwargs)
        except _AuthenticationFailed:
            logger.error("payments: razorpay rejected the API keys (401) on %s", operation)
            raise ProviderNotConfiguredError("Razorpay rejected this server's API keys.", attr="provider") from None
        except (_TryLater, ServerError, GatewayError, requests.RequestException) as exc:
            # ``from None``: a requests exception carries the request, Authorization header included.
            logger.warning("payments: razorpay %s unavailable: %s %s", operation, type(exc).__name__, exc)
            raise ProviderUnavailableError(f"Razorpay is unavailable ({operation}); try again later.") from None
        except BadRequestError as exc:
            raise ProviderDeclinedError(str(exc) or f"Razorpay refused the request ({operation}).") from None
        if not isinstance(answer, dict):
            raise ProviderUnavailableError(f"Razorpay gave an unexpected answer ({operation}); try again later.")
        return answer


# ---------------------------------------------------------------------------------------- helpers


def _order_id(payment: Payment) -> str:
    if not payment.provider_payment_id:
        raise ProviderDeclinedError("This payment has no Razorpay order.", code="no_provider_order")
    return payment.provider_payment_id


def _payment_state(order_id: str, entity: Mapping[str, Any], status: str | None) -> ProviderPayment:
    """A Razorpay payment entity as our state of the order ``order_id``."""
    card = _dict(entity.get("card"))
    last4 = _str(card.get("last4"))
    return ProviderPayment(
        provider_payment_id=order_id,
        status=status,
        failure_reason=_str(entity.get("error_description")) if status == PaymentStatus.FAILED else "",
        card_brand=_str(card.get("network")),
        card_last4=last4 if len(last4) == 4 and last4.isdigit() else "",
        amount=_int(entity.get("amount")),
        currency=_str(entity.get("currency")) or None,
    )


def _payment_notice(event_id: str, event_type: str, event: dict[str, Any], entities: dict[str, Any]) -> WebhookNotice:
    entity = _dict(_dict(entities.get("payment")).get("entity"))
    order = _dict(_dict(entities.get("order")).get("entity"))
    order_id = _str(entity.get("order_id")) or _str(order.get("id"))
    if not order_id:  # not an order of ours (never match a payment by an empty id)
        return WebhookNotice(event_id=event_id, type=event_type, payload=event)
    state = _payment_state(order_id, entity, _PAYMENT_EVENTS[event_type])
    if state.amount is None:  # order.paid without the payment entity
        state = ProviderPayment(
            provider_payment_id=order_id,
            status=state.status,
            amount=_int(order.get("amount_paid")),
            currency=_str(order.get("currency")) or None,
        )
    our_payment_id = _str(_dict(entity.get("notes")).get("payment_id")) or _str(
        _dict(order.get("notes")).get("payment_id")
    )
    return WebhookNotice(
        event_id=event_id, type=event_type, payload=event, payment=state, our_payment_id=our_payment_id or None
    )


def _refund_notice(event_id: str, event_type: str, event: dict[str, Any], entities: dict[str, Any]) -> WebhookNotice:
    entity = _dict(_dict(entities.get("refund")).get("entity"))
    provider_refund_id = _str(entity.get("id"))
    our_refund_id = _str(_dict(entity.get("notes")).get("refund_id")) or None
    if not provider_refund_id and our_refund_id is None:
        return WebhookNotice(event_id=event_id, type=event_type, payload=event)
    status = _REFUND_EVENTS[event_type]
    refund = ProviderRefund(
        provider_refund_id=provider_refund_id,
        status=status,
        failure_reason="Razorpay reported the refund as failed." if status == RefundStatus.FAILED else "",
    )
    return WebhookNotice(
        event_id=event_id, type=event_type, payload=event, refund=refund, extra={"refund_id": our_refund_id}
    )


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _is_sha256_hex(value: str) -> bool:
    return len(value) == _SHA256_HEX_LENGTH and value.isascii() and all(char in _HEX_DIGITS for char in value)


def _hex_equal(expected: str, given: str) -> bool:
    """Constant-time comparison of our hex digest with an untrusted one (any text: never raises)."""
    if not _is_sha256_hex(given):
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.lower().encode("ascii"))


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: valid for Python, not for PostgreSQL's JSON


def _dict(value: Any) -> dict[str, Any]:
    # Razorpay sends empty ``notes`` as ``[]``; anything not an object counts as empty.
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
