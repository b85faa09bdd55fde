from django.urls import URLPattern, URLResolver

# Credential and calendar endpoints (see bookings/api/credentials.py).
urlpatterns: list[URLPattern | URLResolver] = []
