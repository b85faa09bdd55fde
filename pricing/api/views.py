"""Pricing endpoints: rules, quotes, pass products, passes, discounts. Thin: validate, call one
selector/service, serialize. Another organization's rows are 404; writes need owner or manager."""

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import MANAGER_ROLES, organization_get
from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.exceptions import ApplicationError, NotFoundError
from parking import selectors as parking_selectors
from parking.models import Facility, Spot, Zone
from pricing import selectors, services
from pricing.models import Discount, PassProduct, PricingRule
from pricing.schemas import STRATEGY_EXAMPLES
from vehicles.models import Vehicle

from .serializers import (
    DiscountInputSerializer,
    DiscountOutputSerializer,
    PassOutputSerializer,
    PassProductInputSerializer,
    PassProductOutputSerializer,
    QuoteInputSerializer,
    QuoteOutputSerializer,
    RuleInputSerializer,
    RuleOutputSerializer,
)

RULE_EXAMPLES = [
    OpenApiExample(
        f"{strategy} rule",
        value={"facility": 1, "name": f"{strategy} example", "strategy": strategy, "config": config},
        request_only=True,
    )
    for strategy, config in STRATEGY_EXAMPLES.items()
]


def _facility_for_write(request: Request, facility_id: int) -> Facility:
    try:
        return parking_selectors.facility_get_managed(
            actor=_user(request), facility_id=facility_id, roles=MANAGER_ROLES
        )
    except NotFoundError as exc:
        raise ApplicationError(
            "No such facility among those you manage.", code="does_not_exist", attr="facility"
        ) from exc


def _in_facility(model: type[Zone] | type[Spot], pk: int | None, facility: Facility, attr: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(pk=pk, facility=facility).first()
    if found is None:
        raise ApplicationError(f"No such {attr} in this facility.", code="does_not_exist", attr=attr)
    return found


# ---------------------------------------------------------------------------- rules


class RuleFilter(filters.FilterSet):
    facility = filters.NumberFilter(field_name="facility_id")

    class Meta:
        model = PricingRule
        fields = ("facility", "strategy", "is_active")


class RuleListApi(generics.GenericAPIView):
    serializer_class = RuleOutputSerializer
    filterset_class = RuleFilter
    ordering_fields = ("priority", "created_at", "name")

    def get_queryset(self) -> QuerySet[PricingRule]:
        return selectors.rule_list_managed(actor=_user(self.request))

    @extend_schema(operation_id="pricing_rules_list", tags=["pricing"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RuleOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="pricing_rules_create",
        tags=["pricing"],
        request=RuleInputSerializer,
        responses={201: RuleOutputSerializer},
        examples=RULE_EXAMPLES,
        summary="Create a pricing rule (owners and managers)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(RuleInputSerializer, request.data)
        facility = _facility_for_write(request, data.pop("facility"))
        zone = _in_facility(Zone, data.pop("zone", None), facility, "zone")
        spot = _in_facility(Spot, data.pop("spot", None), facility, "spot")
        rule = services.rule_create(facility=facility, zone=zone, spot=spot, data=data)
        return Response(RuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(generics.GenericAPIView):
    serializer_class = RuleOutputSerializer

    def _rule(self, rule_id: int, *, write: bool = False) -> PricingRule:
        rule = selectors.rule_list_managed(actor=_user(self.request)).filter(pk=rule_id).first()
        if rule is None:
            raise NotFoundError("Rule not found.")
        if write:
            parking_selectors.facility_get_managed(
                actor=_user(self.request), facility_id=rule.facility_id, roles=MANAGER_ROLES
            )
        return rule

    @extend_schema(operation_id="pricing_rules_retrieve", tags=["pricing"])
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(RuleOutputSerializer(self._rule(rule_id)).data)

    @extend_schema(
        operation_id="pricing_rules_update",
        tags=["pricing"],
        request=RuleInputSerializer(partial=True),
        responses={200: RuleOutputSerializer},
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = self._rule(rule_id, write=True)
        data = _validated(RuleInputSerializer, request.data, partial=True)
        for key in ("facility", "zone", "spot"):
            data.pop(key, None)
        return Response(RuleOutputSerializer(services.rule_update(rule=rule, data=data)).data)

    @extend_schema(operation_id="pricing_rules_destroy", tags=["pricing"], responses={204: None})
    def delete(self, request: Request, rule_id: int) -> Response:
        services.rule_delete(rule=self._rule(rule_id, write=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------- quotes


class QuoteApi(generics.GenericAPIView):
    permission_classes = (AllowAny,)
    serializer_class = QuoteInputSerializer

    @extend_schema(
        operation_id="pricing_quote",
        tags=["pricing"],
        request=QuoteInputSerializer,
        responses={201: QuoteOutputSerializer},
        summary="An itemised, stored quote for a window (valid 15 minutes)",
        examples=[
            OpenApiExample(
                "Four hours in a garage",
                value={
                    "facility": 1,
                    "vehicle_type": "standard",
                    "start": "2030-05-01T09:00:00-07:00",
                    "end": "2030-05-01T13:00:00-07:00",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = _validated(QuoteInputSerializer, request.data)
        driver = request.user if isinstance(request.user, User) else None
        spot = None
        if data.get("spot"):
            spot = parking_selectors.spot_get_visible(actor=driver, spot_id=data["spot"])
            facility = spot.facility
        else:
            facility, _ = parking_selectors.facility_get_visible(actor=driver, facility_id=data["facility"])
        vehicle = None
        if data.get("vehicle"):
            vehicle = Vehicle.objects.filter(pk=data["vehicle"], owner=driver).first() if driver else None
            if vehicle is None:
                raise ApplicationError("No such vehicle among yours.", code="does_not_exist", attr="vehicle")
        quote = services.quote_create(
            services.QuoteRequest(
                facility=facility,
                spot=spot,
                start=data["start"],
                end=data["end"],
                vehicle_type=vehicle.vehicle_type if vehicle else data["vehicle_type"],
                vehicle=vehicle,
                driver=driver,
                promo_code=data.get("promo_code", ""),
            )
        )
        return Response(QuoteOutputSerializer(quote).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------- passes


class PassProductListApi(generics.GenericAPIView):
    serializer_class = PassProductOutputSerializer
    filterset_fields = ("facility", "period", "is_active")

    def get_queryset(self) -> QuerySet[PassProduct]:
        return selectors.pass_product_list_managed(actor=_user(self.request)).order_by("facility_id", "name", "pk")

    @extend_schema(operation_id="pricing_pass_products_list", tags=["pricing"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PassProductOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="pricing_pass_products_create",
        tags=["pricing"],
        request=PassProductInputSerializer,
        responses={201: PassProductOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _validated(PassProductInputSerializer, request.data)
        facility = _facility_for_write(request, data.pop("facility"))
        product = services.pass_product_create(facility=facility, data=data)
        return Response(PassProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class PassProductDetailApi(generics.GenericAPIView):
    serializer_class = PassProductOutputSerializer

    def _product(self, product_id: int, *, write: bool = False) -> PassProduct:
        product = selectors.pass_product_list_managed(actor=_user(self.request)).filter(pk=product_id).first()
        if product is None:
            raise NotFoundError("Pass product not found.")
        if write:
            parking_selectors.facility_get_managed(
                actor=_user(self.request), facility_id=product.facility_id, roles=MANAGER_ROLES
            )
        return product

    @extend_schema(operation_id="pricing_pass_products_retrieve", tags=["pricing"])
    def get(self, request: Request, product_id: int) -> Response:
        return Response(PassProductOutputSerializer(self._product(product_id)).data)

    @extend_schema(
        operation_id="pricing_pass_products_update",
        tags=["pricing"],
        request=PassProductInputSerializer(partial=True),
        responses={200: PassProductOutputSerializer},
    )
    def patch(self, request: Request, product_id: int) -> Response:
        product = self._product(product_id, write=True)
        data = _validated(PassProductInputSerializer, request.data, partial=True)
        data.pop("facility", None)
        return Response(PassProductOutputSerializer(services.pass_product_update(product=product, data=data)).data)


class PassListApi(generics.GenericAPIView):
    serializer_class = PassOutputSerializer
    filterset_fields = ("status",)

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.pass_list_for_driver(driver=_user(self.request)).order_by("-valid_from", "-pk")

    @extend_schema(operation_id="pricing_passes_list", tags=["pricing"], summary="My passes")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PassOutputSerializer(page, many=True).data)


# ---------------------------------------------------------------------------- discounts


def _facilities_for(request: Request, ids: list[int], organization_id: Any) -> list[Facility]:
    facilities = list(Facility.objects.filter(pk__in=ids, organization_id=organization_id))
    if len(facilities) != len(set(ids)):
        raise ApplicationError(
            "Every facility must belong to the organization.", code="does_not_exist", attr="facilities"
        )
    return facilities


class DiscountListApi(generics.GenericAPIView):
    serializer_class = DiscountOutputSerializer
    filterset_fields = ("organization", "kind", "is_active")

    def get_queryset(self) -> QuerySet[Discount]:
        return selectors.discount_list_managed(actor=_user(self.request)).order_by("code", "pk")

    @extend_schema(operation_id="pricing_discounts_list", tags=["pricing"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DiscountOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="pricing_discounts_create",
        tags=["pricing"],
        request=DiscountInputSerializer,
        responses={201: DiscountOutputSerializer},
        summary="Create a validation / promo code (owners and managers)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(DiscountInputSerializer, request.data)
        organization = organization_get(
            actor=_user(request), organization_id=data.pop("organization"), roles=MANAGER_ROLES
        )
        facilities = _facilities_for(request, data.pop("facilities", []), organization.pk)
        discount = services.discount_create(organization_id=organization.pk, data=data, facilities=facilities)
        return Response(DiscountOutputSerializer(discount).data, status=status.HTTP_201_CREATED)


class DiscountDetailApi(generics.GenericAPIView):
    serializer_class = DiscountOutputSerializer

    def _discount(self, discount_id: int, *, write: bool = False) -> Discount:
        discount = selectors.discount_list_managed(actor=_user(self.request)).filter(pk=discount_id).first()
        if discount is None:
            raise NotFoundError("Discount not found.")
        if write:
            organization_get(actor=_user(self.request), organization_id=discount.organization_id, roles=MANAGER_ROLES)
        return discount

    @extend_schema(operation_id="pricing_discounts_retrieve", tags=["pricing"])
    def get(self, request: Request, discount_id: int) -> Response:
        return Response(DiscountOutputSerializer(self._discount(discount_id)).data)

    @extend_schema(
        operation_id="pricing_discounts_update",
        tags=["pricing"],
        request=DiscountInputSerializer(partial=True),
        responses={200: DiscountOutputSerializer},
    )
    def patch(self, request: Request, discount_id: int) -> Response:
        discount = self._discount(discount_id, write=True)
        data = _validated(DiscountInputSerializer, request.data, partial=True)
        data.pop("organization", None)
        facilities = (
            _facilities_for(request, data.pop("facilities"), discount.organization_id) if "facilities" in data else None
        )
        discount = services.discount_update(discount=discount, data=data, facilities=facilities)
        return Response(DiscountOutputSerializer(discount).data)
