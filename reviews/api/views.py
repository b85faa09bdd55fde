from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, UserRateThrottle
from rest_framework.views import APIView

from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from app.api.openapi import ClientErrorResponseSerializer
from parking import selectors as parking_selectors
from reviews import selectors, services
from reviews.models import Review

from .filters import ReviewFilter
from .serializers import (
    FacilityReviewsPageSerializer,
    FacilityReviewsQuerySerializer,
    OwnerResponseOutputSerializer,
    ResponseInputSerializer,
    ReviewCreateInputSerializer,
    ReviewManagedOutputSerializer,
    ReviewPublicOutputSerializer,
    ReviewSummarySerializer,
    ReviewUpdateInputSerializer,
)

ERROR = OpenApiResponse(ClientErrorResponseSerializer)
NOT_FOUND = OpenApiResponse(ClientErrorResponseSerializer, description="No such (visible) review or facility.")
FORBIDDEN = OpenApiResponse(
    ClientErrorResponseSerializer, description="Only the facility's owners and managers respond to its reviews."
)


class ReviewWriteThrottle(UserRateThrottle):
    """Per-user budget for review writes (scope ``reviews``); reads are not counted."""

    scope = "reviews"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)


class _Throttled:
    def get_throttles(self) -> list[BaseThrottle]:
        return [*super().get_throttles(), ReviewWriteThrottle()]  # type: ignore[misc]


class ReviewListCreateApi(_Throttled, generics.GenericAPIView):
    serializer_class = ReviewManagedOutputSerializer
    filterset_class = ReviewFilter
    ordering_fields = ("created_at", "rating", "helpful_count")

    def get_queryset(self) -> QuerySet[Review]:
        return selectors.review_list_visible(actor=_user(self.request))

    @extend_schema(
        operation_id="reviews_list",
        tags=["reviews"],
        summary="My reviews, and every review of my organizations' facilities (hidden ones flagged)",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ReviewManagedOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="reviews_create",
        tags=["reviews"],
        request=ReviewCreateInputSerializer,
        responses={201: ReviewManagedOutputSerializer, 400: ERROR, 409: ERROR},
        summary="Review a completed stay (once, within 30 days of its end)",
        description=(
            "400 on `booking`: `invalid` (not one of your bookings), `booking_not_completed`, "
            "`review_window_closed`. 409 `already_reviewed`. The host is emailed."
        ),
    )
    def post(self, request: Request) -> Response:
        author = _user(request)
        data = _validated(ReviewCreateInputSerializer, request.data)
        review = services.review_create(
            author=author,
            booking_id=data["booking"],
            rating=data["rating"],
            title=data["title"],
            comment=data["comment"],
        )
        review = selectors.review_get_visible(actor=author, review_id=review.pk)
        return Response(ReviewManagedOutputSerializer(review).data, status=status.HTTP_201_CREATED)


class ReviewDetailApi(_Throttled, generics.GenericAPIView):
    serializer_class = ReviewPublicOutputSerializer

    @extend_schema(
        operation_id="reviews_retrieve",
        tags=["reviews"],
        responses={200: ReviewPublicOutputSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, review_id: int) -> Response:
        actor = request.user if request.user.is_authenticated else None
        review = selectors.review_get_visible(actor=actor, review_id=review_id)
        return Response(ReviewPublicOutputSerializer(review).data)

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else list(super().get_permissions())

    @extend_schema(
        operation_id="reviews_update",
        tags=["reviews"],
        request=ReviewUpdateInputSerializer,
        responses={200: ReviewManagedOutputSerializer, 400: ERROR, 404: NOT_FOUND, 409: ERROR},
        summary="Edit my review (within 48 hours of posting; 409 `edit_window_closed` after)",
    )
    def patch(self, request: Request, review_id: int) -> Response:
        author = _user(request)
        review = selectors.review_get_visible(actor=author, review_id=review_id)
        data = _validated(ReviewUpdateInputSerializer, request.data)
        services.review_update(review=review, author=author, data=data)
        review = selectors.review_get_visible(actor=author, review_id=review_id)
        return Response(ReviewManagedOutputSerializer(review).data)


class ReviewResponseApi(_Throttled, generics.GenericAPIView):
    serializer_class = ResponseInputSerializer

    @extend_schema(
        operation_id="reviews_respond",
        tags=["reviews"],
        request=ResponseInputSerializer,
        responses={201: OwnerResponseOutputSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND, 409: ERROR},
        summary="Respond to a review of my facility (owners/managers; once — 409 `already_responded`, edit instead)",
    )
    def post(self, request: Request, review_id: int) -> Response:
        actor = _user(request)
        review = selectors.review_get_visible(actor=actor, review_id=review_id)
        data = _validated(ResponseInputSerializer, request.data)
        response = services.response_create(review=review, actor=actor, body=data["body"])
        return Response(OwnerResponseOutputSerializer(response).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="reviews_response_update",
        tags=["reviews"],
        request=ResponseInputSerializer,
        responses={200: OwnerResponseOutputSerializer, 400: ERROR, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Edit my organization's response to a review",
    )
    def patch(self, request: Request, review_id: int) -> Response:
        actor = _user(request)
        review = selectors.review_get_visible(actor=actor, review_id=review_id)
        data = _validated(ResponseInputSerializer, request.data)
        response = services.response_update(review=review, actor=actor, body=data["body"])
        return Response(OwnerResponseOutputSerializer(response).data)


class ReviewHelpfulApi(_Throttled, generics.GenericAPIView):
    serializer_class = ReviewPublicOutputSerializer

    @extend_schema(
        operation_id="reviews_helpful",
        tags=["reviews"],
        request=None,
        responses={200: ReviewPublicOutputSerializer, 400: ERROR, 404: NOT_FOUND, 409: ERROR},
        summary="Mark a review helpful (once; not your own: 400 `own_review`; twice: 409 `already_voted`)",
    )
    def post(self, request: Request, review_id: int) -> Response:
        user = _user(request)
        review = selectors.review_get_visible(actor=None, review_id=review_id)  # public reviews only
        services.helpful_vote(review=review, user=user)
        return Response(
            ReviewPublicOutputSerializer(selectors.review_get_visible(actor=None, review_id=review_id)).data
        )


class FacilityReviewsApi(generics.GenericAPIView):
    serializer_class = ReviewPublicOutputSerializer
    permission_classes = (AllowAny,)
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="facilities_reviews",
        tags=["reviews"],
        parameters=[FacilityReviewsQuerySerializer],
        responses={200: FacilityReviewsPageSerializer, 400: ERROR, 404: NOT_FOUND},
        summary="A facility's public reviews with a summary (average, count, count per star)",
    )
    def get(self, request: Request, facility_id: int) -> Response:
        actor = request.user if request.user.is_authenticated else None
        facility, _managed = parking_selectors.facility_get_visible(actor=actor, facility_id=facility_id)
        query = _validated(FacilityReviewsQuerySerializer, request.query_params)
        page = self.paginate_queryset(selectors.review_list_public(facility=facility, ordering=query["ordering"]))
        response = self.get_paginated_response(ReviewPublicOutputSerializer(page, many=True).data)
        response.data["summary"] = ReviewSummarySerializer(selectors.review_summary(facility=facility)).data
        return response
