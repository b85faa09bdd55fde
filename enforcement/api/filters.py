from django.db.models import QuerySet
from django.views.decorators.debug import sensitive_variables
from django_filters import rest_framework as filters

from enforcement.models import Dispute, DisputeStatus, Violation, ViolationKind, ViolationStatus
from vehicles.plates import normalize_plate, plate_blind_index


class ViolationFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")
    status = filters.ChoiceFilter(choices=ViolationStatus.choices)
    kind = filters.ChoiceFilter(choices=ViolationKind.choices)
    escalated = filters.BooleanFilter(field_name="escalated_at", lookup_expr="isnull", exclude=True)
    issued_from = filters.IsoDateTimeFilter(field_name="issued_at", lookup_expr="gte")
    issued_to = filters.IsoDateTimeFilter(field_name="issued_at", lookup_expr="lt")
    plate = filters.CharFilter(method="filter_plate", label="Exact licence plate (any spelling; matched by index)")

    class Meta:
        model = Violation
        fields = ("facility", "status", "kind", "escalated", "issued_from", "issued_to", "plate")

    @sensitive_variables()
    def filter_plate(self, queryset: QuerySet[Violation], name: str, value: str) -> QuerySet[Violation]:
        return queryset.filter(plate_index=plate_blind_index(normalize_plate(value)))


class DriverViolationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ViolationStatus.choices)

    class Meta:
        model = Violation
        fields = ("status",)


class DisputeFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DisputeStatus.choices)

    class Meta:
        model = Dispute
        fields = ("status",)
