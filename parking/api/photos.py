"""Facility photos API: thin views over ``parking.photos`` (serializers live here too, to keep the
photo endpoints in one module).

``GET`` is public for published facilities (members also see their unpublished ones); writes need
the owner or manager role in the facility's organization. Another organization's facility is 404.
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import MANAGER_ROLES

from ..models import Facility, FacilityPhoto
from ..photos import MAX_PHOTOS_PER_FACILITY, photo_create, photo_delete, photo_get, photo_list, photo_update
from ..selectors import facility_get_managed, facility_get_visible

TAGS = ["facility photos"]


# ---------------------------------------------------------------------------- serializers


class FacilityPhotoCreateInputSerializer(serializers.Serializer):
    image = serializers.FileField(
        help_text="JPEG, PNG or WebP (recognised from the file's content, not its name), at most "
        "FACILITY_PHOTO_MAX_BYTES (5 MiB by default).",
    )
    caption = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=2_147_483_647, help_text="Sort key; default: after the last photo."
    )


class FacilityPhotoUpdateInputSerializer(serializers.Serializer):
    """Only the fields sent change."""

    caption = serializers.CharField(required=False, allow_blank=True, max_length=200)
    position = serializers.IntegerField(required=False, min_value=0, max_value=2_147_483_647)


class FacilityPhotoOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="Absolute URL of the image file.")
    caption = serializers.CharField()
    position = serializers.IntegerField()
    content_type = serializers.CharField(help_text="image/jpeg, image/png or image/webp.")
    created_at = serializers.DateTimeField()

    def get_url(self, photo: FacilityPhoto) -> str:
        url = photo.image.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


# ---------------------------------------------------------------------------- helpers


class _ReadPublicWriteAuthenticated(BasePermission):
    """Reads are public (the selector decides what is visible); writes need a signed-in user."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return AllowAny().has_permission(request, view)
        return IsAuthenticated().has_permission(request, view)


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # the permission class has already refused anonymous writes
        raise NotAuthenticated()
    return user


def _actor_or_none(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


def _managed_facility(request: Request, facility_id: int) -> Facility:
    return facility_get_managed(actor=_user(request), facility_id=facility_id, roles=MANAGER_ROLES)


# ---------------------------------------------------------------------------- views


@extend_validation_errors(
    ["unsupported_image_type", "image_too_large", "too_many_photos"], field_name="image", methods=["post"]
)
class FacilityPhotoListView(GenericAPIView):
    permission_classes = (_ReadPublicWriteAuthenticated,)
    parser_classes = (MultiPartParser,)
    # For schema generation only; rows come from the selectors.
    queryset = FacilityPhoto.objects.none()
    serializer_class = FacilityPhotoOutputSerializer
    filter_backends = ()

    @extend_schema(
        summary="List a facility's photos",
        description="Public for published facilities; members of the organization also see their unpublished "
        "facilities' photos. Ordered by `position`, then upload order.",
        responses=FacilityPhotoOutputSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, facility_id: int) -> Response:
        facility, _managed = facility_get_visible(actor=_actor_or_none(request), facility_id=facility_id)
        page = self.paginate_queryset(photo_list(facility=facility))
        serializer = FacilityPhotoOutputSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="Upload a photo",
        description="Multipart upload (owner or manager). JPEG, PNG or WebP only, recognised from the file's "
        "first bytes (`unsupported_image_type`); at most `FACILITY_PHOTO_MAX_BYTES` (`image_too_large`); at most "
        f"{MAX_PHOTOS_PER_FACILITY} photos per facility (`too_many_photos`). A refused upload stores nothing.",
        # The media type comes from parser_classes (multipart only). The {"multipart/form-data": ...} form
        # of `request` breaks drf-standardized-errors' 400 schema (it expects a serializer there).
        request=FacilityPhotoCreateInputSerializer,
        responses={201: FacilityPhotoOutputSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, facility_id: int) -> Response:
        facility = _managed_facility(request, facility_id)
        serializer = FacilityPhotoCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        photo = photo_create(
            facility=facility, file=data["image"], caption=data["caption"], position=data.get("position")
        )
        output = FacilityPhotoOutputSerializer(photo, context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


class FacilityPhotoDetailView(GenericAPIView):
    permission_classes = (IsAuthenticated,)
    parser_classes = (JSONParser,)
    queryset = FacilityPhoto.objects.none()
    serializer_class = FacilityPhotoOutputSerializer
    filter_backends = ()

    @extend_schema(
        summary="Change a photo's caption or position",
        description="Owner or manager. Only the fields sent change.",
        request=FacilityPhotoUpdateInputSerializer,
        responses=FacilityPhotoOutputSerializer,
        examples=[OpenApiExample("Move to the front", value={"position": 0}, request_only=True)],
        tags=TAGS,
    )
    def patch(self, request: Request, facility_id: int, photo_id: int) -> Response:
        facility = _managed_facility(request, facility_id)
        photo = photo_get(facility=facility, photo_id=photo_id)
        serializer = FacilityPhotoUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        photo = photo_update(photo=photo, data=dict(serializer.validated_data))
        return Response(FacilityPhotoOutputSerializer(photo, context={"request": request}).data)

    @extend_schema(
        summary="Delete a photo",
        description="Owner or manager. The stored file is deleted once the change has committed.",
        request=None,
        responses={204: None},
        tags=TAGS,
    )
    def delete(self, request: Request, facility_id: int, photo_id: int) -> Response:
        facility = _managed_facility(request, facility_id)
        photo_delete(photo=photo_get(facility=facility, photo_id=photo_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
