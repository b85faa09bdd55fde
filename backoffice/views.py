"""The back-office dashboard (the admin home) and the facility map (the grid editor)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from parking import services as parking_services
from parking.admin import organization_ids_visible
from parking.models import Facility, Spot, SpotStatus
from parking.selectors import spot_live_states

from . import charts, selectors


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    now = timezone.now()
    scope = organization_ids_visible(request)
    facilities = selectors.occupancy(organization_ids=scope, at=now)
    currency, revenue = selectors.revenue_by_day(organization_ids=scope, now=now)
    return {
        "dashboard": {
            "occupancy": facilities,
            "totals": selectors.group_counts(facilities),
            "attention": selectors.attention(organization_ids=scope, now=now),
            "gates": selectors.gates(organization_ids=scope),
            "payment_alerts": selectors.payment_alerts(organization_ids=scope),
            "revenue": revenue,
            "currency": currency,
            "revenue_chart": charts.revenue_svg(revenue, currency),
            "heatmap": charts.heatmap_svg(selectors.occupancy_heatmap(organization_ids=scope, now=now)),
            "now": now,
        }
    }


def _facility(request: HttpRequest, facility_id: int) -> Facility:
    scope = organization_ids_visible(request)
    facilities = Facility.objects.all() if scope is None else Facility.objects.filter(organization_id__in=scope)
    facility = facilities.filter(pk=facility_id).first()
    if facility is None:
        raise Http404("Facility not found.")
    return facility


def _spot(request: HttpRequest, spot_id: int) -> Spot:
    scope = organization_ids_visible(request)
    spots = Spot.objects.select_related("facility", "zone")
    spot = (spots if scope is None else spots.filter(organization_id__in=scope)).filter(pk=spot_id).first()
    if spot is None:
        raise Http404("Spot not found.")
    return spot


def _level(request: HttpRequest, facility: Facility) -> tuple[int, list[int]]:
    levels = sorted({zone.level for zone in selectors.facility_levels(facility=facility)})
    try:
        level = int(request.GET.get("level", levels[0] if levels else 0))
    except ValueError:
        level = levels[0] if levels else 0
    return level, levels


def facility_map(request: HttpRequest, facility_id: int) -> HttpResponse:
    facility = _facility(request, facility_id)
    level, levels = _level(request, facility)
    context = {
        **admin.site.each_context(request),
        "title": f"Map of {facility.name}",
        "facility": facility,
        "level": level,
        "levels": levels,
        "cells": selectors.map_spots(facility=facility, level=level, at=timezone.now()),
        "can_toggle": request.user.has_perm("parking.change_spot"),
    }
    return render(request, "backoffice/map.html", context)


def facility_map_cells(request: HttpRequest, facility_id: int) -> JsonResponse:
    facility = _facility(request, facility_id)
    level, _levels = _level(request, facility)
    return JsonResponse({"cells": selectors.map_spots(facility=facility, level=level, at=timezone.now())})


def spot_detail(request: HttpRequest, spot_id: int) -> JsonResponse:
    spot = _spot(request, spot_id)
    now = timezone.now()
    state = spot_live_states(spots=[spot], at=now)[spot.pk]
    return JsonResponse(
        {
            "id": spot.pk,
            "code": spot.code,
            "zone": spot.zone.name,
            "state": state,
            "status": spot.status,
            **selectors.spot_bookings(spot=spot, now=now),
        }
    )


@require_POST
def spot_toggle_maintenance(request: HttpRequest, spot_id: int) -> JsonResponse:
    """Maintenance on ↔ off through the same service as the API and the spot admin."""
    if not request.user.has_perm("parking.change_spot"):
        raise PermissionDenied
    spot = _spot(request, spot_id)
    target = SpotStatus.ACTIVE if spot.status == SpotStatus.MAINTENANCE else SpotStatus.MAINTENANCE
    parking_services.spot_bulk_set_status(spots=[spot], status=target)
    spot.refresh_from_db()
    return JsonResponse(
        {"id": spot.pk, "status": spot.status, "state": spot_live_states(spots=[spot], at=timezone.now())[spot.pk]}
    )
