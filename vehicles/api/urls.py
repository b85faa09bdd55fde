from django.urls import URLPattern, URLResolver, path

from .views import VehicleViewSet

app_name = "vehicles"

urlpatterns: list[URLPattern | URLResolver] = [
    path("vehicles/", VehicleViewSet.as_view({"get": "list", "post": "create"}), name="vehicle-list"),
    path(
        "vehicles/<uuid:id>/",
        VehicleViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="vehicle-detail",
    ),
]
