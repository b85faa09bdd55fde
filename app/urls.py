from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from app import metrics as metrics_view
from app import views
from app.api import live_views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),
    path("", include("vehicles.api.urls")),
    path("", include("parking.api.urls")),
    path("", include("pricing.api.urls")),
    path("", include("bookings.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("gates.api.urls")),
    path("", include("enforcement.api.urls")),
    path("", include("reviews.api.urls")),
    path("", include("integrations.api.urls")),
    path("events/stream/", live_views.EventStreamApi.as_view(), name="events-stream"),
    path("events/stream-token/", live_views.StreamTokenApi.as_view(), name="events-stream-token"),
]

urlpatterns = [
    path("health/", views.health, name="health"),
    path("ready/", views.ready, name="ready"),
    # Prometheus metrics (request latencies, DB, gate decisions). Expose it to the monitoring network
    # only; with several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (README).
    path("metrics", metrics_view.metrics, name="prometheus-django-metrics"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

# JSON error pages for anything that fails outside a DRF view (unknown URL, crash in middleware).
handler400 = "app.views.bad_request"
handler403 = "app.views.permission_denied"
handler404 = "app.views.not_found"
handler500 = "app.views.server_error"

# Uploaded media in development (production serves it from the storage backend or the web server).
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
