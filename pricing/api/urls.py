from django.urls import include, path

from . import views

urlpatterns = [
    path("pricing/rules/", views.RuleListApi.as_view(), name="pricing-rules"),
    path("pricing/rules/<int:rule_id>/", views.RuleDetailApi.as_view(), name="pricing-rule-detail"),
    path("pricing/quote/", views.QuoteApi.as_view(), name="pricing-quote"),
    path("pricing/pass-products/", views.PassProductListApi.as_view(), name="pricing-pass-products"),
    path(
        "pricing/pass-products/<int:product_id>/",
        views.PassProductDetailApi.as_view(),
        name="pricing-pass-product-detail",
    ),
    path("pricing/passes/", views.PassListApi.as_view(), name="pricing-passes"),
    path("pricing/discounts/", views.DiscountListApi.as_view(), name="pricing-discounts"),
    path("pricing/discounts/<int:discount_id>/", views.DiscountDetailApi.as_view(), name="pricing-discount-detail"),
    path("", include("pricing.api.listing_urls")),
]
