"""Reads, always scoped by the actor: an organization the actor does not belong to is 404."""

import uuid

from django.db.models import OuterRef, QuerySet, Subquery

from app.exceptions import NotFoundError, PermissionDeniedError

from .models import Membership, Organization, Role, User

MANAGER_ROLES: frozenset[str] = frozenset({Role.OWNER, Role.MANAGER})
ALL_ROLES: frozenset[str] = frozenset(Role.values)


def organization_list(*, actor: User) -> QuerySet[Organization]:
    """The actor's organizations, each annotated with ``my_role``."""
    my_role = Membership.objects.filter(organization=OuterRef("pk"), user=actor).values("role")[:1]
    return (
        Organization.objects.filter(memberships__user=actor).annotate(my_role=Subquery(my_role)).order_by("name", "pk")
    )


def organization_get(
    *, actor: User, organization_id: uuid.UUID | str, roles: frozenset[str] = ALL_ROLES
) -> Organization:
    """One of the actor's organizations (annotated with ``my_role``).

    Raises NotFoundError if the actor is not a member (existence is not revealed), and
    PermissionDeniedError if the actor is a member without one of ``roles``.
    """
    try:
        organization = organization_list(actor=actor).get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Organization not found.") from exc
    if organization.my_role not in roles:  # type: ignore[attr-defined]
        raise PermissionDeniedError("Your role in this organization does not allow this action.")
    return organization


def organization_role(*, actor: User, organization_id: uuid.UUID | str) -> str | None:
    """The actor's role in the organization, or None. The one building block for tenant checks."""
    return Membership.objects.filter(user=actor, organization_id=organization_id).values_list("role", flat=True).first()


def organization_ids_for(*, actor: User, roles: frozenset[str] = ALL_ROLES) -> QuerySet[Membership, object]:
    """Ids of the organizations where the actor holds one of ``roles`` (for ``__in`` filters)."""
    return Membership.objects.filter(user=actor, role__in=roles).values_list("organization_id", flat=True)


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("created_at", "pk")


def membership_get(*, organization: Organization, membership_id: int | str) -> Membership:
    try:
        return membership_list(organization=organization).get(pk=membership_id)
    except (Membership.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError("Member not found.") from exc
