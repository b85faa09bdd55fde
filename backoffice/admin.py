"""Hooks the dashboard into the admin home and the facility map into the admin's URLs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from . import views

_index = admin.site.index
_get_urls = admin.site.get_urls


def _dashboard_index(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    return _index(request, {**views.dashboard_context(request), **(extra_context or {})})


def _urls() -> list[URLPattern | URLResolver]:
    wrap = admin.site.admin_view
    return [
        path("backoffice/map/<int:facility_id>/", wrap(views.facility_map), name="backoffice-map"),
        path("backoffice/map/<int:facility_id>/cells/", wrap(views.facility_map_cells), name="backoffice-map-cells"),
        path("backoffice/spots/<int:spot_id>/", wrap(views.spot_detail), name="backoffice-spot"),
        path(
            "backoffice/spots/<int:spot_id>/maintenance/",
            wrap(views.spot_toggle_maintenance),
            name="backoffice-spot-maintenance",
        ),
        *_get_urls(),
    ]


admin.site.index = _dashboard_index  # type: ignore[method-assign,assignment]
admin.site.get_urls = _urls  # type: ignore[method-assign]
admin.site.index_template = "admin/dashboard_index.html"
admin.site.site_header = "Parking back office"
admin.site.site_title = "Parking back office"
