"""Payment endpoints. Thin: validate, call one service/selector, serialize."""

from datetime import timedelta
from http import HTTPStatus
from typing import Any

from django.db import OperationalError
from django.http import HttpResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import organization_get
from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from app.exceptions import ApplicationError
from bookings import selectors as booking_selectors
from idempotency.decorators import IDEMPOTENCY_ERROR_RESPONSES, idempotent
from payments import payouts, selectors, services, webhooks
from payments.models import Payment, PaymentPurpose, PaymentStatus
from payments.providers import provider_get, providers_available
from payments.providers.base import WebhookSignatureError
from payments.receipts import receipt_number, receipt_pdf

from .serializers import (
    CashPaymentInputSerializer,
    EarningsOutputSerializer,
    EarningsQuerySerializer,
    PassPurchaseInputSerializer,
    PaymentCreateInputSerializer,
    PaymentCreateOutputSerializer,
    PaymentOutputSerializer,
    PaymentPayInputSerializer,
    PayoutOutputSerializer,
    ProviderOutputSerializer,
    RazorpayVerifyInputSerializer,
    RefundInputSerializer,
    RefundOutputSerializer,
    WebhookOutputSerializer,
)

ERROR = OpenApiResponse(ClientErrorResponseSerializer)
CONFLICT = OpenApiResponse(
    ClientErrorResponseSerializer, description="`already_paid`, `invalid_transition` or `resource_busy`."
)
PROVIDER_ERRORS = {
    402: OpenApiResponse(ClientErrorResponseSerializer, description="`provider_declined`: the provider refused."),
    503: OpenApiResponse(ClientErrorResponseSerializer, description="`provider_unavailable`: try again later."),
}


class PaymentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PaymentStatus.choices)
    purpose = filters.ChoiceFilter(choices=PaymentPurpose.choices)
    booking = filters.UUIDFilter(field_name="booking_id")

    class Meta:
        model = Payment
        fields = ("status", "purpose", "booking")


class PaymentListCreateApi(generics.GenericAPIView):
    serializer_class = PaymentOutputSerializer
    filterset_class = PaymentFilter

    def get_queryset(self) -> Any:
        return selectors.payment_list_visible(actor=_user(self.request))

    @extend_schema(
        operation_id="payments_list",
        tags=["payments"],
        summary="My payments, and my organizations' payments",
        description="Open payment requests (fees you owe) are `status=created` with an empty `provider`.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PaymentOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="payments_create",
        tags=["payments"],
        request=PaymentCreateInputSerializer,
        responses={
            201: PaymentCreateOutputSerializer,
            400: ERROR,
            409: CONFLICT,
            **IDEMPOTENCY_ERROR_RESPONSES,
            **PROVIDER_ERRORS,
        },
        summary="Pay what is due on my booking",
        description=(
            "Creates a payment for what is left to pay on the booking and returns what the client SDK needs. "
            "Success (webhook, Razorpay verify, or reconciliation) confirms a `pending_payment` booking. An "
            "unconfigured provider is 400 `provider_not_configured`."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        driver = _user(request)
        data = _validated(PaymentCreateInputSerializer, request.data)
        try:
            booking = booking_selectors.booking_get_for_driver(driver=driver, booking_id=data["booking"])
        except ApplicationError as exc:
            raise ApplicationError("No such booking among yours.", code="does_not_exist", attr="booking") from exc
        payment, client = services.payment_create(booking=booking, driver=driver, provider_name=data["provider"])
        return Response(
            PaymentCreateOutputSerializer({"payment": payment, "client": client}).data, status=status.HTTP_201_CREATED
        )


class PaymentDetailApi(generics.GenericAPIView):
    serializer_class = PaymentOutputSerializer

    @extend_schema(operation_id="payments_retrieve", tags=["payments"])
    def get(self, request: Request, payment_id: str) -> Response:
        return Response(
            PaymentOutputSerializer(selectors.payment_get_visible(actor=_user(request), payment_id=payment_id)).data
        )


class PaymentPayApi(generics.GenericAPIView):
    serializer_class = PaymentPayInputSerializer

    @extend_schema(
        operation_id="payments_pay",
        tags=["payments"],
        request=PaymentPayInputSerializer,
        responses={
            201: PaymentCreateOutputSerializer,
            400: ERROR,
            409: CONFLICT,
            **IDEMPOTENCY_ERROR_RESPONSES,
            **PROVIDER_ERRORS,
        },
        summary="Pay one of my open payment requests (a fee: overstay, no-show …)",
    )
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        driver = _user(request)
        payment = selectors.payment_get_for_driver(driver=driver, payment_id=payment_id)
        data = _validated(PaymentPayInputSerializer, request.data)
        payment, client = services.payment_request_pay(payment=payment, driver=driver, provider_name=data["provider"])
        return Response(
            PaymentCreateOutputSerializer({"payment": payment, "client": client}).data, status=status.HTTP_201_CREATED
        )


class PassPurchaseApi(generics.GenericAPIView):
    serializer_class = PassPurchaseInputSerializer

    @extend_schema(
        operation_id="payments_buy_pass",
        tags=["payments"],
        request=PassPurchaseInputSerializer,
        responses={201: PaymentCreateOutputSerializer, 400: ERROR, **IDEMPOTENCY_ERROR_RESPONSES, **PROVIDER_ERRORS},
        summary="Buy a pass: the pass becomes active when its payment succeeds",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        driver = _user(request)
        data = _validated(PassPurchaseInputSerializer, request.data)
        product = selectors.pass_product_for_sale(product_id=data["product"])
        vehicle = selectors.vehicle_get_own(driver=driver, vehicle_id=data["vehicle"]) if data.get("vehicle") else None
        payment, client = services.payment_pass_create(
            product=product,
            driver=driver,
            vehicle=vehicle,
            start=data.get("start") or timezone.now(),
            provider_name=data["provider"],
        )
        return Response(
            PaymentCreateOutputSerializer({"payment": payment, "client": client}).data, status=status.HTTP_201_CREATED
        )


class ProviderListApi(generics.GenericAPIView):
    serializer_class = ProviderOutputSerializer
    pagination_class = None

    @extend_schema(operation_id="payments_providers", tags=["payments"], summary="Providers configured here")
    def get(self, request: Request) -> Response:
        rows = [{"name": p.name, "label": p.label} for p in providers_available() if p.name != "cash"]
        return Response(ProviderOutputSerializer(rows, many=True).data)


class SandboxConfirmApi(generics.GenericAPIView):
    serializer_class = PaymentOutputSerializer

    @extend_schema(
        operation_id="payments_sandbox_confirm",
        tags=["payments"],
        request=None,
        responses={200: PaymentOutputSerializer, 400: ERROR, 409: CONFLICT},
        summary="Demo only: mark a sandbox payment paid",
        description="Only while the sandbox provider is enabled (development); otherwise 400 `provider_not_configured`.",
    )
    def post(self, request: Request, payment_id: str) -> Response:
        payment = selectors.payment_get_for_driver(driver=_user(request), payment_id=payment_id)
        return Response(PaymentOutputSerializer(services.payment_sandbox_confirm(payment=payment)).data)


class RazorpayVerifyApi(generics.GenericAPIView):
    serializer_class = RazorpayVerifyInputSerializer

    @extend_schema(
        operation_id="payments_razorpay_verify",
        tags=["payments"],
        request=RazorpayVerifyInputSerializer,
        responses={200: PaymentOutputSerializer, 400: ERROR, 404: ERROR, **PROVIDER_ERRORS},
        summary="Razorpay checkout callback: verify the signature and record the payment",
    )
    def post(self, request: Request) -> Response:
        data = _validated(RazorpayVerifyInputSerializer, request.data)
        payment = selectors.payment_get_razorpay_order(driver=_user(request), order_id=data["razorpay_order_id"])
        provider = provider_get("razorpay")
        state = provider.verify_checkout(  # type: ignore[attr-defined]
            order_id=data["razorpay_order_id"],
            payment_id=data["razorpay_payment_id"],
            signature=data["razorpay_signature"],
        )
        payment = services.payment_apply_provider_state(payment_id=payment.pk, state=state)
        return Response(PaymentOutputSerializer(payment).data)


class _WebhookApi(generics.GenericAPIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()
    serializer_class = WebhookOutputSerializer
    provider_name = ""

    def post(self, request: Request) -> Response:
        body = request.body  # the raw bytes the signature covers (read before anything parses them)
        try:
            outcome = webhooks.webhook_receive(provider_name=self.provider_name, body=body, headers=request.headers)
        except WebhookSignatureError as exc:
            raise ApplicationError(str(exc) or "Invalid signature.", code="invalid_signature") from exc
        except OperationalError:
            # A lock timeout (everything rolled back): the provider delivers again. Answered here, not
            # raised, because it is an expected outcome rather than a server fault to report.
            busy = {
                "type": "server_error",
                "errors": [{"code": "busy", "detail": "Busy; deliver again.", "attr": None}],
            }
            return Response(busy, status=HTTPStatus.SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
        return Response(WebhookOutputSerializer({"received": True, "outcome": outcome}).data)


WEBHOOK_SCHEMA: dict[str, Any] = {
    "tags": ["payments"],
    "request": {"application/json": OpenApiTypes.OBJECT},
    "responses": {
        200: WebhookOutputSerializer,
        400: OpenApiResponse(ClientErrorResponseSerializer, description="`invalid_signature` (nothing is written)."),
        503: OpenApiResponse(ClientErrorResponseSerializer, description="`busy`: the provider retries."),
    },
    "auth": [],
}


class StripeWebhookApi(_WebhookApi):
    provider_name = "stripe"

    @extend_schema(
        operation_id="payments_webhook_stripe", summary="Stripe webhook (signed: Stripe-Signature)", **WEBHOOK_SCHEMA
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class RazorpayWebhookApi(_WebhookApi):
    provider_name = "razorpay"

    @extend_schema(
        operation_id="payments_webhook_razorpay",
        summary="Razorpay webhook (signed: X-Razorpay-Signature)",
        **WEBHOOK_SCHEMA,
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class PaymentRefundApi(generics.GenericAPIView):
    serializer_class = RefundInputSerializer

    @extend_schema(
        operation_id="payments_refund",
        tags=["payments"],
        request=RefundInputSerializer,
        responses={201: RefundOutputSerializer, 400: ERROR, 409: CONFLICT, **IDEMPOTENCY_ERROR_RESPONSES},
        summary="Refund a payment (staff of its organization)",
        description=(
            "Never more than what is still refundable (400 `refund_exceeds_refundable` on `amount`). Above the "
            "organization's approval threshold the refund waits (`pending_approval`) for another member's "
            "`POST /refunds/{id}/approve/`. Otherwise it is `pending` and executed at the provider right after "
            "the answer (retried until the provider answers); `GET /payments/{id}/` shows the result."
        ),
    )
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        actor = _user(request)
        payment = selectors.payment_get_for_member(actor=actor, payment_id=payment_id)
        data = _validated(RefundInputSerializer, request.data)
        refund = services.refund_request(
            payment_id=payment.pk, actor=actor, amount=data.get("amount"), reason=data["reason"], note=data["note"]
        )
        refund.refresh_from_db()
        return Response(RefundOutputSerializer(refund).data, status=status.HTTP_201_CREATED)


class RefundApproveApi(generics.GenericAPIView):
    serializer_class = RefundOutputSerializer

    @extend_schema(
        operation_id="refunds_approve",
        tags=["payments"],
        request=None,
        responses={200: RefundOutputSerializer, 403: ERROR, 409: CONFLICT},
        summary="Approve a refund above the threshold (a member other than the one who asked)",
    )
    def post(self, request: Request, refund_id: str) -> Response:
        actor = _user(request)
        refund = selectors.refund_get_for_member(actor=actor, refund_id=refund_id)
        services.refund_approve(refund_id=refund.pk, actor=actor)
        refund.refresh_from_db()
        return Response(RefundOutputSerializer(refund).data)


class CashPaymentApi(generics.GenericAPIView):
    serializer_class = CashPaymentInputSerializer

    @extend_schema(
        operation_id="payments_record_cash",
        tags=["payments"],
        request=CashPaymentInputSerializer,
        responses={201: PaymentOutputSerializer, 400: ERROR, 409: CONFLICT},
        summary="Record cash taken at the booth or gate (staff of the booking's organization; audited)",
    )
    def post(self, request: Request) -> Response:
        actor = _user(request)
        data = _validated(CashPaymentInputSerializer, request.data)
        booking = selectors.booking_get_for_cash(actor=actor, booking_id=data["booking"])
        payment = services.payment_record_cash(booking=booking, actor=actor, amount=data.get("amount"))
        return Response(PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class ReceiptPdfApi(generics.GenericAPIView):
    serializer_class = PaymentOutputSerializer

    @extend_schema(
        operation_id="payments_receipt_pdf",
        tags=["payments"],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: ERROR,
            409: OpenApiResponse(ClientErrorResponseSerializer, description="`receipt_unavailable`: not paid."),
        },
        summary="The receipt of a succeeded payment, as PDF",
    )
    def get(self, request: Request, payment_id: str) -> HttpResponse:
        payment = selectors.payment_get_visible(actor=_user(request), payment_id=payment_id)
        # A payment that has not succeeded is 409 ``receipt_unavailable`` (raised by receipts).
        response = HttpResponse(receipt_pdf(payment), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="receipt-{receipt_number(payment)}.pdf"'
        return response


class EarningsApi(generics.GenericAPIView):
    serializer_class = EarningsOutputSerializer

    @extend_schema(
        operation_id="organization_earnings",
        tags=["payments"],
        parameters=[EarningsQuerySerializer],
        responses={200: EarningsOutputSerializer, 400: ERROR, 404: ERROR},
        summary="The host dashboard figures for a period (default: the last 30 days)",
    )
    def get(self, request: Request, organization_id: str) -> Response:
        organization = organization_get(actor=_user(request), organization_id=organization_id)
        query = _validated(EarningsQuerySerializer, request.query_params)
        end = query.get("to") or timezone.now()
        start = query.get("from") or end - timedelta(days=30)
        if start >= end:
            raise ApplicationError("`from` must be before `to`.", code="invalid", attr="from")
        figures = payouts.earnings_for(
            organization_id=organization.pk,
            currency=(query.get("currency") or organization.currency).upper(),
            start=start,
            end=end,
        )
        return Response(EarningsOutputSerializer(figures).data)


class PayoutListApi(generics.GenericAPIView):
    serializer_class = PayoutOutputSerializer

    @extend_schema(operation_id="payouts_list", tags=["payments"], summary="Payouts of my organizations")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.payout_list_visible(actor=_user(request)))
        return self.get_paginated_response(PayoutOutputSerializer(page, many=True).data)
