from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from ..models import Vehicle, VehicleType


class VehicleFilter(django_filters.FilterSet):
    vehicle_type = django_filters.ChoiceFilter(choices=VehicleType.choices)
    is_ev = django_filters.BooleanFilter()

    class Meta:
        model = Vehicle
        fields = ("vehicle_type", "is_ev")


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` plus ``id`` as the last key, so equal values (two vehicles without a nickname)
    keep one order across pages. Without ``?ordering=`` the selector's order stays."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        keys = [key.lstrip("-") for key in ordering]
        return [*ordering, "-id"] if "id" not in keys else ordering
