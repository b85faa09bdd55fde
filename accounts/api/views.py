"""Thin views: validate input, call one service or selector, serialize output."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from accounts import selectors, services, tokens
from accounts.models import Membership, Organization, User
from app.api.openapi import ClientErrorResponseSerializer, ErrorResponse401Serializer
from app.api.throttling import AUTH_THROTTLES

from .serializers import (
    MembershipCreateInputSerializer,
    MembershipOutputSerializer,
    MembershipUpdateInputSerializer,
    OrganizationCreateInputSerializer,
    OrganizationOutputSerializer,
    OrganizationUpdateInputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenObtainInputSerializer,
    TokenPairOutputSerializer,
    UserOutputSerializer,
    UserUpdateInputSerializer,
)

UNAUTHORIZED = OpenApiResponse(ErrorResponse401Serializer, description="Invalid credentials or token.")
CONFLICT = OpenApiResponse(ClientErrorResponseSerializer, description="Conflict with the current state.")


def _validated(serializer_class: Any, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class PublicAuthApi(generics.GenericAPIView):
    """Base for login/registration/reset: no authentication, strict per-IP and per-account throttles."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (AnonRateThrottle, *AUTH_THROTTLES)


# ---------------------------------------------------------------------------- auth


class RegisterApi(PublicAuthApi):
    serializer_class = RegisterInputSerializer

    @extend_schema(
        operation_id="auth_register",
        tags=["auth"],
        request=RegisterInputSerializer,
        responses={201: UserOutputSerializer},
        summary="Create a driver account",
    )
    def post(self, request: Request) -> Response:
        data = _validated(RegisterInputSerializer, request)
        user = services.user_register(
            email=data["email"],
            password=data["password"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            phone=data.get("phone", ""),
        )
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(PublicAuthApi):
    serializer_class = TokenObtainInputSerializer

    @extend_schema(
        operation_id="auth_token_obtain",
        tags=["auth"],
        request=TokenObtainInputSerializer,
        responses={200: TokenPairOutputSerializer, 401: UNAUTHORIZED},
        summary="Log in: exchange email and password for an access/refresh token pair",
    )
    def post(self, request: Request) -> Response:
        data = _validated(TokenObtainInputSerializer, request)
        pair = tokens.auth_login(email=data["email"], password=data["password"])
        return Response(TokenPairOutputSerializer(pair).data)


class TokenRefreshApi(generics.GenericAPIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (AnonRateThrottle,)
    serializer_class = RefreshInputSerializer

    @extend_schema(
        operation_id="auth_token_refresh",
        tags=["auth"],
        request=RefreshInputSerializer,
        responses={200: TokenPairOutputSerializer, 401: UNAUTHORIZED},
        summary="Rotate a refresh token",
        description=(
            "Returns a new access token and a new refresh token; the presented refresh token is "
            "blacklisted. Presenting an already-rotated refresh token is treated as theft: 401 and "
            "every token of that login session is revoked."
        ),
    )
    def post(self, request: Request) -> Response:
        data = _validated(RefreshInputSerializer, request)
        pair = tokens.auth_refresh(refresh=data["refresh"])
        return Response(TokenPairOutputSerializer(pair).data)


class LogoutApi(TokenRefreshApi):
    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        request=RefreshInputSerializer,
        responses={204: None, 401: UNAUTHORIZED},
        summary="Log out: blacklist the refresh token",
    )
    def post(self, request: Request) -> Response:
        data = _validated(RefreshInputSerializer, request)
        tokens.auth_logout(refresh=data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(PublicAuthApi):
    serializer_class = PasswordResetInputSerializer

    @extend_schema(
        operation_id="auth_password_reset",
        tags=["auth"],
        request=PasswordResetInputSerializer,
        responses={202: OpenApiResponse(description="Accepted. An email is sent if the account exists.")},
        summary="Request a password reset email",
    )
    def post(self, request: Request) -> Response:
        data = _validated(PasswordResetInputSerializer, request)
        services.password_reset_request(email=data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(PublicAuthApi):
    serializer_class = PasswordResetConfirmInputSerializer
    throttle_classes = (AnonRateThrottle, AUTH_THROTTLES[0])

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        tags=["auth"],
        request=PasswordResetConfirmInputSerializer,
        responses={204: None},
        summary="Set a new password with the uid and token from the reset email",
    )
    def post(self, request: Request) -> Response:
        data = _validated(PasswordResetConfirmInputSerializer, request)
        services.password_reset_confirm(uid=data["uid"], token=data["token"], new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------- me


class MeApi(generics.GenericAPIView):
    serializer_class = UserOutputSerializer

    @extend_schema(operation_id="users_me_retrieve", tags=["users"], responses={200: UserOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(_user(request)).data)

    @extend_schema(
        operation_id="users_me_update",
        tags=["users"],
        request=UserUpdateInputSerializer,
        responses={200: UserOutputSerializer},
    )
    def patch(self, request: Request) -> Response:
        data = _validated(UserUpdateInputSerializer, request, partial=True)
        user = services.user_update(user=_user(request), data=data)
        return Response(UserOutputSerializer(user).data)


class PasswordChangeApi(generics.GenericAPIView):
    serializer_class = PasswordChangeInputSerializer
    throttle_classes = (UserRateThrottle, AUTH_THROTTLES[0])

    @extend_schema(
        operation_id="users_me_password_change",
        tags=["users"],
        request=PasswordChangeInputSerializer,
        responses={204: None},
        summary="Change my password (logs out every other session)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(PasswordChangeInputSerializer, request)
        services.user_change_password(
            user=_user(request), current_password=data["current_password"], new_password=data["new_password"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------- organizations


class OrganizationListApi(generics.GenericAPIView):
    serializer_class = OrganizationOutputSerializer
    ordering_fields = ("name", "created_at")
    ordering = ("name",)

    def get_queryset(self) -> QuerySet[Organization]:
        return selectors.organization_list(actor=_user(self.request))

    @extend_schema(operation_id="organizations_list", tags=["organizations"], summary="My organizations")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OrganizationOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="organizations_create",
        tags=["organizations"],
        request=OrganizationCreateInputSerializer,
        responses={201: OrganizationOutputSerializer},
        summary="Create an organization (you become its owner)",
    )
    def post(self, request: Request) -> Response:
        data = _validated(OrganizationCreateInputSerializer, request)
        organization = services.organization_create(actor=_user(request), **data)
        return Response(OrganizationOutputSerializer(organization).data, status=status.HTTP_201_CREATED)


class OrganizationDetailApi(generics.GenericAPIView):
    serializer_class = OrganizationOutputSerializer

    @extend_schema(operation_id="organizations_retrieve", tags=["organizations"])
    def get(self, request: Request, organization_id: str) -> Response:
        organization = selectors.organization_get(actor=_user(request), organization_id=organization_id)
        return Response(OrganizationOutputSerializer(organization).data)

    @extend_schema(
        operation_id="organizations_update",
        tags=["organizations"],
        request=OrganizationUpdateInputSerializer,
        responses={200: OrganizationOutputSerializer},
        summary="Update an organization (owners and managers)",
    )
    def patch(self, request: Request, organization_id: str) -> Response:
        actor = _user(request)
        organization = selectors.organization_get(
            actor=actor, organization_id=organization_id, roles=selectors.MANAGER_ROLES
        )
        data = _validated(OrganizationUpdateInputSerializer, request, partial=True)
        organization = services.organization_update(actor=actor, organization=organization, data=data)
        return Response(OrganizationOutputSerializer(organization).data)


class MemberListApi(generics.GenericAPIView):
    serializer_class = MembershipOutputSerializer
    ordering_fields = ("created_at", "role")
    ordering = ("created_at",)

    def get_queryset(self) -> QuerySet[Membership]:
        organization = selectors.organization_get(
            actor=_user(self.request), organization_id=self.kwargs["organization_id"], roles=selectors.MANAGER_ROLES
        )
        return selectors.membership_list(organization=organization)

    @extend_schema(
        operation_id="organizations_members_list", tags=["organizations"], summary="Members (owners, managers)"
    )
    def get(self, request: Request, organization_id: str) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(MembershipOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="organizations_members_create",
        tags=["organizations"],
        request=MembershipCreateInputSerializer,
        responses={201: MembershipOutputSerializer},
        summary="Add a registered user as a member (managers cannot add owners)",
    )
    def post(self, request: Request, organization_id: str) -> Response:
        actor = _user(request)
        organization = selectors.organization_get(
            actor=actor, organization_id=organization_id, roles=selectors.MANAGER_ROLES
        )
        data = _validated(MembershipCreateInputSerializer, request)
        membership = services.membership_add(actor=actor, organization=organization, **data)
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(generics.GenericAPIView):
    serializer_class = MembershipOutputSerializer

    def _membership(
        self, request: Request, organization_id: str, member_id: str, *, leaving: bool = False
    ) -> Membership:
        actor = _user(request)
        organization = selectors.organization_get(actor=actor, organization_id=organization_id)
        membership = selectors.membership_get(organization=organization, membership_id=member_id)
        if not (leaving and membership.user_id == actor.pk) and organization.my_role not in selectors.MANAGER_ROLES:  # type: ignore[attr-defined]
            selectors.organization_get(actor=actor, organization_id=organization_id, roles=selectors.MANAGER_ROLES)
        return membership

    @extend_schema(operation_id="organizations_members_retrieve", tags=["organizations"])
    def get(self, request: Request, organization_id: str, member_id: str) -> Response:
        membership = self._membership(request, organization_id, member_id)
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(
        operation_id="organizations_members_update",
        tags=["organizations"],
        request=MembershipUpdateInputSerializer,
        responses={200: MembershipOutputSerializer, 409: CONFLICT},
        summary="Change a member's role (the last owner cannot be demoted)",
        examples=[OpenApiExample("Promote to manager", value={"role": "manager"}, request_only=True)],
    )
    def patch(self, request: Request, organization_id: str, member_id: str) -> Response:
        membership = self._membership(request, organization_id, member_id)
        data = _validated(MembershipUpdateInputSerializer, request)
        membership = services.membership_update(actor=_user(request), membership=membership, role=data["role"])
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(
        operation_id="organizations_members_destroy",
        tags=["organizations"],
        responses={204: None, 409: CONFLICT},
        summary="Remove a member, or leave (the last owner cannot be removed)",
    )
    def delete(self, request: Request, organization_id: str, member_id: str) -> Response:
        membership = self._membership(request, organization_id, member_id, leaving=True)
        services.membership_remove(actor=_user(request), membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
