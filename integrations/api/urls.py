from django.urls import URLPattern, URLResolver, path

from . import views

BASE = "organizations/<uuid:organization_id>/webhooks/"
ONE = f"{BASE}<int:endpoint_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(BASE, views.EndpointListCreateApi.as_view(), name="webhook-endpoints"),
    path(ONE, views.EndpointDetailApi.as_view(), name="webhook-endpoint-detail"),
    path(f"{ONE}rotate-secret/", views.EndpointRotateSecretApi.as_view(), name="webhook-endpoint-rotate"),
    path(f"{ONE}deliveries/", views.DeliveryListApi.as_view(), name="webhook-deliveries"),
    path(f"{ONE}deliveries/<int:delivery_id>/retry/", views.DeliveryRetryApi.as_view(), name="webhook-delivery-retry"),
]
