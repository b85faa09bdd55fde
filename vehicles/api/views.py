"""Thin views: validate input, call one service or selector, serialise the result."""

from typing import cast
from uuid import UUID

from django.views.decorators.debug import sensitive_variables
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User

from ..models import Vehicle
from ..selectors import vehicle_get, vehicle_list
from ..services import VehicleUpdateData, vehicle_create, vehicle_delete, vehicle_update
from .filters import StableOrderingFilter, VehicleFilter
from .serializers import VehicleCreateInputSerializer, VehicleOutputSerializer, VehicleUpdateInputSerializer


def _driver(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # IsAuthenticated has already refused anonymous requests
        raise NotAuthenticated()
    return user


# Codes raised by the services, so the schema lists them next to the serializer's own.
@extend_validation_errors(
    ["invalid_plate", "duplicate_plate"], field_name="plate", actions=["create", "partial_update"]
)
@extend_validation_errors(["invalid_country"], field_name="country", actions=["create", "partial_update"])
@extend_validation_errors(["default_required"], field_name="is_default", actions=["partial_update"])
class VehicleViewSet(viewsets.GenericViewSet):
    """The signed-in driver's vehicles. Another driver's vehicle is 404, never 403."""

    # For schema generation only (the model behind the filter parameters); data comes from selectors.
    queryset = Vehicle.objects.none()
    filter_backends = (DjangoFilterBackend, StableOrderingFilter)
    filterset_class = VehicleFilter
    ordering_fields = ("created_at", "nickname")
    ordering = None  # without ?ordering=: the selector's order, newest first

    @extend_schema(
        summary="List my vehicles",
        description="Newest first unless `ordering` is given (`created_at`, `nickname`, `-` for descending).",
        responses=VehicleOutputSerializer(many=True),
        tags=["vehicles"],
    )
    def list(self, request: Request) -> Response:
        vehicles = self.filter_queryset(vehicle_list(owner=_driver(request)))
        page = self.paginate_queryset(vehicles)
        return self.get_paginated_response(VehicleOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Add a vehicle",
        description="The first vehicle becomes the default. The same plate may belong to several drivers, "
        "but a driver cannot add it twice (`duplicate_plate`).",
        request=VehicleCreateInputSerializer,
        responses={201: VehicleOutputSerializer},
        examples=[
            OpenApiExample(
                "Add a car",
                value={"plate": "ab-12 cd", "country": "GB", "vehicle_type": "standard", "nickname": "Family car"},
                request_only=True,
            )
        ],
        tags=["vehicles"],
    )
    @sensitive_variables()
    def create(self, request: Request) -> Response:
        serializer = VehicleCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vehicle = vehicle_create(owner=_driver(request), **serializer.validated_data)
        return Response(VehicleOutputSerializer(vehicle).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Get one of my vehicles",
        description="Another driver's vehicle is 404, never 403.",
        responses=VehicleOutputSerializer,
        tags=["vehicles"],
    )
    def retrieve(self, request: Request, id: UUID) -> Response:
        vehicle = vehicle_get(owner=_driver(request), vehicle_id=id)
        return Response(VehicleOutputSerializer(vehicle).data)

    @extend_schema(
        summary="Change a vehicle",
        description="Partial update: only the fields sent change. `is_default: true` moves the default here.",
        request=VehicleUpdateInputSerializer,
        responses=VehicleOutputSerializer,
        tags=["vehicles"],
    )
    @sensitive_variables()
    def partial_update(self, request: Request, id: UUID) -> Response:
        serializer = VehicleUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = cast(VehicleUpdateData, serializer.validated_data)
        vehicle = vehicle_update(owner=_driver(request), vehicle_id=id, data=data)
        return Response(VehicleOutputSerializer(vehicle).data)

    @extend_schema(
        summary="Delete a vehicle",
        description="Deleting the default vehicle makes the most recently added remaining vehicle the default.",
        request=None,
        responses={204: None},
        tags=["vehicles"],
    )
    def destroy(self, request: Request, id: UUID) -> Response:
        vehicle_delete(owner=_driver(request), vehicle_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)
