from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("reviews/", views.ReviewListCreateApi.as_view(), name="reviews"),
    path("reviews/<int:review_id>/", views.ReviewDetailApi.as_view(), name="review-detail"),
    path("reviews/<int:review_id>/response/", views.ReviewResponseApi.as_view(), name="review-response"),
    path("reviews/<int:review_id>/helpful/", views.ReviewHelpfulApi.as_view(), name="review-helpful"),
    path("facilities/<int:facility_id>/reviews/", views.FacilityReviewsApi.as_view(), name="facility-reviews"),
]
