from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("payments/", views.PaymentListCreateApi.as_view(), name="payments"),
    path("payments/providers/", views.ProviderListApi.as_view(), name="payment-providers"),
    path("payments/cash/", views.CashPaymentApi.as_view(), name="payment-cash"),
    path("payments/passes/", views.PassPurchaseApi.as_view(), name="payment-pass"),
    path("payments/razorpay/verify/", views.RazorpayVerifyApi.as_view(), name="payment-razorpay-verify"),
    path("payments/webhooks/stripe/", views.StripeWebhookApi.as_view(), name="payment-webhook-stripe"),
    path("payments/webhooks/razorpay/", views.RazorpayWebhookApi.as_view(), name="payment-webhook-razorpay"),
    path("payments/<uuid:payment_id>/", views.PaymentDetailApi.as_view(), name="payment-detail"),
    path("payments/<uuid:payment_id>/pay/", views.PaymentPayApi.as_view(), name="payment-pay"),
    path("payments/<uuid:payment_id>/refund/", views.PaymentRefundApi.as_view(), name="payment-refund"),
    path("payments/<uuid:payment_id>/receipt.pdf", views.ReceiptPdfApi.as_view(), name="payment-receipt"),
    path("payments/<uuid:payment_id>/sandbox-confirm/", views.SandboxConfirmApi.as_view(), name="payment-sandbox"),
    path("refunds/<uuid:refund_id>/approve/", views.RefundApproveApi.as_view(), name="refund-approve"),
    path("organizations/<uuid:organization_id>/earnings/", views.EarningsApi.as_view(), name="organization-earnings"),
    path("payouts/", views.PayoutListApi.as_view(), name="payouts"),
]
