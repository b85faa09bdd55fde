from django.db.models import QuerySet
from django_filters import rest_framework as filters

from reviews.models import Review


class ReviewFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")
    rating = filters.NumberFilter(field_name="rating")
    min_rating = filters.NumberFilter(field_name="rating", lookup_expr="gte")
    max_rating = filters.NumberFilter(field_name="rating", lookup_expr="lte")
    is_hidden = filters.BooleanFilter(field_name="is_hidden")
    has_response = filters.BooleanFilter(method="filter_has_response")
    created_from = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Review
        fields = (
            "facility",
            "rating",
            "min_rating",
            "max_rating",
            "is_hidden",
            "has_response",
            "created_from",
            "created_to",
        )

    def filter_has_response(self, queryset: QuerySet[Review], name: str, value: bool) -> QuerySet[Review]:
        return queryset.filter(response__isnull=not value)
