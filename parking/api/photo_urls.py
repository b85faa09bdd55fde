from django.urls import URLPattern, URLResolver, path

from .photos import FacilityPhotoDetailView, FacilityPhotoListView

# Photo endpoints under /api/v1/facilities/{id}/photos/ (see parking/api/photos.py).
urlpatterns: list[URLPattern | URLResolver] = [
    path("facilities/<int:facility_id>/photos/", FacilityPhotoListView.as_view(), name="facility-photo-list"),
    path(
        "facilities/<int:facility_id>/photos/<int:photo_id>/",
        FacilityPhotoDetailView.as_view(),
        name="facility-photo-detail",
    ),
]
