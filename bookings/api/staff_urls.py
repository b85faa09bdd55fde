from django.urls import URLPattern, URLResolver

# Owner/staff booking endpoints (see bookings/api/staff.py).
urlpatterns: list[URLPattern | URLResolver] = []
