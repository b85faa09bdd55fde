from django.urls import include, path

from . import views

urlpatterns = [
    path("facilities/", views.FacilityListApi.as_view(), name="facilities"),
    path("facilities/<int:facility_id>/", views.FacilityDetailApi.as_view(), name="facility-detail"),
    path(
        "facilities/<int:facility_id>/availability/",
        views.FacilityAvailabilityApi.as_view(),
        name="facility-availability",
    ),
    path("", include("parking.api.photo_urls")),
    path("zones/", views.ZoneListApi.as_view(), name="zones"),
    path("zones/<int:zone_id>/", views.ZoneDetailApi.as_view(), name="zone-detail"),
    path("spots/", views.SpotListApi.as_view(), name="spots"),
    path("spots/bulk/", views.SpotBulkCreateApi.as_view(), name="spots-bulk-create"),
    path("spots/bulk-status/", views.SpotBulkStatusApi.as_view(), name="spots-bulk-status"),
    path("spots/available/", views.SpotAvailableApi.as_view(), name="spots-available"),
    path("spots/<int:spot_id>/", views.SpotDetailApi.as_view(), name="spot-detail"),
    path("spot-blocks/", views.BlockListApi.as_view(), name="spot-blocks"),
    path("spot-blocks/<int:block_id>/", views.BlockDetailApi.as_view(), name="spot-block-detail"),
]
