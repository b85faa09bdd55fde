from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from integrations import selectors, services
from integrations.models import WebhookDelivery, WebhookEndpoint

from .serializers import (
    DeliveryOutputSerializer,
    EndpointInputSerializer,
    EndpointOutputSerializer,
    EndpointWithSecretSerializer,
)

ERROR = OpenApiResponse(ClientErrorResponseSerializer)
FORBIDDEN = OpenApiResponse(ClientErrorResponseSerializer, description="Owners and managers only.")
NOT_FOUND = OpenApiResponse(ClientErrorResponseSerializer, description="Not your organization's.")
TAGS = ["webhooks"]


class _EndpointMixin:
    def _endpoint(self, request: Request, organization_id: str, endpoint_id: int) -> Any:
        organization = selectors.organization_for_webhooks(actor=_user(request), organization_id=organization_id)
        return selectors.endpoint_get(organization=organization, endpoint_id=endpoint_id)


class EndpointListCreateApi(generics.GenericAPIView):
    serializer_class = EndpointOutputSerializer
    queryset = WebhookEndpoint.objects.none()  # scoped per request below; for the schema only
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="webhooks_endpoints_list",
        tags=TAGS,
        responses={200: EndpointOutputSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, organization_id: str) -> Response:
        organization = selectors.organization_for_webhooks(actor=_user(request), organization_id=organization_id)
        page = self.paginate_queryset(organization.webhook_endpoints.order_by("created_at", "id"))
        return self.get_paginated_response(EndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_endpoints_create",
        tags=TAGS,
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Register an HTTPS endpoint for event types (the answer carries its signing secret)",
    )
    def post(self, request: Request, organization_id: str) -> Response:
        actor = _user(request)
        organization = selectors.organization_for_webhooks(actor=actor, organization_id=organization_id)
        data = _validated(EndpointInputSerializer, request.data)
        endpoint = services.endpoint_create(organization=organization, actor=actor, data=data)
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(_EndpointMixin, generics.GenericAPIView):
    serializer_class = EndpointOutputSerializer

    @extend_schema(
        operation_id="webhooks_endpoints_retrieve",
        tags=TAGS,
        responses={200: EndpointOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, organization_id: str, endpoint_id: int) -> Response:
        return Response(EndpointOutputSerializer(self._endpoint(request, organization_id, endpoint_id)).data)

    @extend_schema(
        operation_id="webhooks_endpoints_update",
        tags=TAGS,
        request=EndpointInputSerializer(partial=True),
        responses={200: EndpointOutputSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request: Request, organization_id: str, endpoint_id: int) -> Response:
        endpoint = self._endpoint(request, organization_id, endpoint_id)
        data = _validated(EndpointInputSerializer, request.data, partial=True)
        return Response(EndpointOutputSerializer(services.endpoint_update(endpoint=endpoint, data=data)).data)

    @extend_schema(
        operation_id="webhooks_endpoints_delete", tags=TAGS, responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND}
    )
    def delete(self, request: Request, organization_id: str, endpoint_id: int) -> Response:
        services.endpoint_delete(endpoint=self._endpoint(request, organization_id, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretApi(_EndpointMixin, generics.GenericAPIView):
    serializer_class = EndpointWithSecretSerializer

    @extend_schema(
        operation_id="webhooks_endpoints_rotate_secret",
        tags=TAGS,
        request=None,
        responses={200: EndpointWithSecretSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Replace the signing secret (the old one stops verifying at once)",
    )
    def post(self, request: Request, organization_id: str, endpoint_id: int) -> Response:
        endpoint = services.endpoint_rotate_secret(endpoint=self._endpoint(request, organization_id, endpoint_id))
        return Response(EndpointWithSecretSerializer(endpoint).data)


class DeliveryListApi(_EndpointMixin, generics.GenericAPIView):
    serializer_class = DeliveryOutputSerializer
    queryset = WebhookDelivery.objects.none()  # scoped per request below; for the schema only
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        tags=TAGS,
        responses={200: DeliveryOutputSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Deliveries of an endpoint, newest first, each with its attempts",
    )
    def get(self, request: Request, organization_id: str, endpoint_id: int) -> Response:
        endpoint = self._endpoint(request, organization_id, endpoint_id)
        page = self.paginate_queryset(selectors.delivery_list(endpoint=endpoint))
        return self.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class DeliveryRetryApi(_EndpointMixin, generics.GenericAPIView):
    serializer_class = DeliveryOutputSerializer

    @extend_schema(
        operation_id="webhooks_deliveries_retry",
        tags=TAGS,
        request=None,
        responses={200: DeliveryOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: ERROR},
        summary="Send a delivery again now (a failed one gets a fresh set of attempts)",
    )
    def post(self, request: Request, organization_id: str, endpoint_id: int, delivery_id: int) -> Response:
        endpoint = self._endpoint(request, organization_id, endpoint_id)
        delivery = services.delivery_retry(delivery=selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id))
        return Response(DeliveryOutputSerializer(delivery).data)
