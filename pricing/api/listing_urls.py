from django.urls import path

from . import listings

urlpatterns = [
    path("listings/", listings.ListingListApi.as_view(), name="listings"),
    path("listings/<int:listing_id>/", listings.ListingDetailApi.as_view(), name="listing-detail"),
]
