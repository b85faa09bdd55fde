"""Radius search: an indexed bounding-box prefilter, then the exact great-circle distance in SQL.

The box is widened correctly near the poles (a box that reaches a pole spans every longitude) and
across the antimeridian (the longitude range wraps, giving two ranges).
"""

import math
from decimal import Decimal
from typing import TypeVar

from django.db.models import F, FloatField, Func, Model, Q, QuerySet, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt

M = TypeVar("M", bound=Model)

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
MAX_RADIUS_KM = 50.0


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km (pure Python twin of the SQL expression, used by tests and bench)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, radius_km: float) -> Q:
    """A Q on latitude/longitude that contains every point within ``radius_km`` (maybe more)."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90:
        # The circle contains a pole: every longitude is in range.
        return Q(latitude__gte=Decimal(str(max(min_lat, -90.0))), latitude__lte=Decimal(str(min(max_lat, 90.0))))
    # Widest longitude span of the circle is at the latitude closest to a pole.
    dlng = math.degrees(math.asin(min(1.0, math.sin(radius_km / EARTH_RADIUS_KM) / math.cos(math.radians(lat)))))
    latitude = Q(latitude__gte=Decimal(f"{min_lat:.6f}"), latitude__lte=Decimal(f"{max_lat:.6f}"))
    min_lng, max_lng = lng - dlng, lng + dlng
    if min_lng < -180:
        longitude = Q(longitude__gte=Decimal(f"{min_lng + 360:.6f}")) | Q(longitude__lte=Decimal(f"{max_lng:.6f}"))
    elif max_lng > 180:
        longitude = Q(longitude__gte=Decimal(f"{min_lng:.6f}")) | Q(longitude__lte=Decimal(f"{max_lng - 360:.6f}"))
    else:
        longitude = Q(longitude__gte=Decimal(f"{min_lng:.6f}"), longitude__lte=Decimal(f"{max_lng:.6f}"))
    return latitude & longitude


class _Least(Func):
    function = "LEAST"
    output_field = FloatField()


def distance_km_expression(lat: float, lng: float) -> CombinedExpression:
    """SQL haversine distance in km from (lat, lng) to the row's latitude/longitude."""
    # Round the centre to the columns' precision (1e-6 degree, ~0.1 m). Otherwise a centre a hair away
    # from a stored coordinate (lng=1e-170 against a row at 0) leaves a difference so small that
    # SIN(d/2)^2 underflows double precision, and PostgreSQL raises "value out of range: underflow"
    # instead of returning 0. Rounded, every difference is 0 or at least ~1e-6 degree.
    lat, lng = round(lat, 6), round(lng, 6)
    lat_rad = Radians(Value(lat, output_field=FloatField()))
    row_lat = Radians(F("latitude"), output_field=FloatField())
    dlat = Radians(F("latitude") - Value(lat), output_field=FloatField())
    dlng = Radians(F("longitude") - Value(lng), output_field=FloatField())
    a = Power(Sin(dlat / 2), 2) + Cos(lat_rad) * Cos(row_lat) * Power(Sin(dlng / 2), 2)
    return 2 * EARTH_RADIUS_KM * ASin(_Least(Sqrt(a), Value(1.0)), output_field=FloatField())


def within_radius(queryset: QuerySet[M], *, lat: float, lng: float, radius_km: float) -> QuerySet[M]:
    """Annotate ``distance_km`` and keep rows within the radius (bounding box first, for the index)."""
    boxed: QuerySet[M] = queryset.filter(bounding_box(lat, lng, radius_km))
    annotated: QuerySet[M] = boxed.annotate(distance_km=distance_km_expression(lat, lng))  # type: ignore[assignment]
    return annotated.filter(distance_km__lte=radius_km)
