"""Role-based permission classes for tenant-owned objects (used by every later app's views).

An object of an organization the user does not belong to raises 404, never 403, so its existence
is not revealed. A member whose role is too low gets 403.
"""

from typing import Any

from django.http import Http404
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from .models import Organization
from .selectors import ALL_ROLES, MANAGER_ROLES, organization_role


def organization_id_of(obj: Any) -> Any:
    """The organization an object belongs to: itself, or its ``organization_id``."""
    if isinstance(obj, Organization):
        return obj.pk
    return obj.organization_id


class OrganizationRolePermission(BasePermission):
    """Read for any member, write for the roles in ``write_roles`` (owner and manager by default)."""

    read_roles: frozenset[str] = ALL_ROLES
    write_roles: frozenset[str] = MANAGER_ROLES
    message = "Your role in this organization does not allow this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        role = organization_role(actor=request.user, organization_id=organization_id_of(obj))  # type: ignore[arg-type]
        if role is None:
            raise Http404
        roles = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        return role in roles


class OrganizationManagerPermission(OrganizationRolePermission):
    """Owners and managers only, for reads as well."""

    read_roles = MANAGER_ROLES


class OrganizationStaffWritePermission(OrganizationRolePermission):
    """Any member may write (e.g. staff changing a spot's status)."""

    write_roles = ALL_ROLES
