from django.urls import URLPattern, URLResolver

# Photo endpoints under /api/v1/facilities/{id}/photos/ (see parking/api/photos.py).
urlpatterns: list[URLPattern | URLResolver] = []
