"""Writes for users, organizations and memberships. Keyword-only, typed, transactions inside."""

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.text import slugify

from app.exceptions import ApplicationError, PermissionDeniedError

from .audit import audit_log_record
from .exceptions import AlreadyMemberError, DuplicateEmailError, LastOwnerError
from .models import AuditAction, Membership, Organization, Role, User
from .selectors import MANAGER_ROLES
from .tokens import user_tokens_revoke


def _validate_new_password(password: str, *, user: User, attr: str) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({attr: exc.error_list}) from exc


def _set_new_password(*, user: User, new_password: str, action: AuditAction) -> None:
    """Validate and set a password, log out every session (revoke refresh tokens), audit it."""
    _validate_new_password(new_password, user=user, attr="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke(user=user)
    audit_log_record(action=action, actor=user, target=user)


# ---------------------------------------------------------------------------- users


def user_register(*, email: str, password: str, first_name: str, last_name: str, phone: str = "") -> User:
    """Create a driver account. Emails are unique case-insensitively (stored lower-cased)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise DuplicateEmailError()
    user = User(email=email, first_name=first_name, last_name=last_name, phone=phone)
    _validate_new_password(password, user=user, attr="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise DuplicateEmailError() from exc
    return user


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Update profile fields (first_name, last_name, phone). Email and flags are not editable here."""
    allowed = {"first_name", "last_name", "phone"}
    changed = [field for field in allowed if field in data]
    for field in changed:
        setattr(user, field, data[field])
    if changed:
        user.full_clean(exclude=["password", "email"])
        user.save(update_fields=[*changed])
    return user


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    """Change the password; every outstanding refresh token of the user is revoked."""
    if not user.check_password(current_password):
        raise ApplicationError("The current password is incorrect.", code="wrong_password", attr="current_password")
    _set_new_password(user=user, new_password=new_password, action=AuditAction.PASSWORD_CHANGED)


def password_reset_request(*, email: str) -> None:
    """Email a reset link if an active account exists. Says nothing either way (no enumeration)."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.FRONTEND_PASSWORD_RESET_URL.format(uid=uid, token=token)
    audit_log_record(action=AuditAction.PASSWORD_RESET_REQUESTED, actor=user, target=user)
    transaction.on_commit(
        lambda: send_mail(
            subject="Reset your password",
            message=(
                "Someone asked to reset the password of your parking account.\n\n"
                f"Use this link within {settings.PASSWORD_RESET_TIMEOUT // 3600} hours:\n{link}\n\n"
                f"Or send uid={uid} and token={token} to POST /api/v1/auth/password-reset/confirm/.\n\n"
                "If it was not you, ignore this email."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    )


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset token (single use: the token dies with the old password)."""
    try:
        user = User.objects.select_for_update().get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (User.DoesNotExist, ValueError, TypeError, OverflowError, ValidationError) as exc:
        raise ApplicationError("The reset link is invalid or has expired.", code="invalid_token", attr="token") from exc
    if not default_token_generator.check_token(user, token):
        raise ApplicationError("The reset link is invalid or has expired.", code="invalid_token", attr="token")
    _set_new_password(user=user, new_password=new_password, action=AuditAction.PASSWORD_RESET_COMPLETED)
    return user


# ---------------------------------------------------------------------------- organizations


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "organization"
    slug, suffix = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


@transaction.atomic
def organization_create(
    *, actor: User, name: str, kind: str, currency: str, country: str, slug: str | None = None
) -> Organization:
    """Create a tenant; the creator becomes its owner."""
    if slug and Organization.objects.filter(slug=slug).exists():
        raise ApplicationError("This slug is already taken.", code="slug_taken", attr="slug")
    organization = Organization(
        name=name, slug=slug or _unique_slug(name), kind=kind, currency=currency.upper(), country=country.upper()
    )
    organization.full_clean()
    try:
        with transaction.atomic():
            organization.save()
    except IntegrityError as exc:
        raise ApplicationError("This slug is already taken.", code="slug_taken", attr="slug") from exc
    Membership.objects.create(user=actor, organization=organization, role=Role.OWNER)
    audit_log_record(
        action=AuditAction.ORGANIZATION_CREATED, actor=actor, organization_id=organization.pk, target=organization
    )
    organization.my_role = Role.OWNER  # type: ignore[attr-defined]
    return organization


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, data: dict[str, Any]) -> Organization:
    """Update name, slug, kind, currency, country. Caller has checked the actor is owner/manager."""
    allowed = ("name", "slug", "kind", "currency", "country")
    changes = {field: data[field] for field in allowed if field in data and data[field] != getattr(organization, field)}
    if "slug" in changes and Organization.objects.filter(slug=changes["slug"]).exclude(pk=organization.pk).exists():
        raise ApplicationError("This slug is already taken.", code="slug_taken", attr="slug")
    for field, value in changes.items():
        setattr(organization, field, value.upper() if field in ("currency", "country") else value)
    if changes:
        organization.full_clean()
        organization.save(update_fields=[*changes, "updated_at"])
        audit_log_record(
            action=AuditAction.ORGANIZATION_UPDATED,
            actor=actor,
            organization_id=organization.pk,
            target=organization,
            data={"fields": sorted(changes)},
        )
    return organization


# ---------------------------------------------------------------------------- memberships


def _lock_organization(organization: Organization) -> None:
    """Serialise membership changes of one organization (the last-owner rule needs a stable count)."""
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk", flat=True).get()


def _actor_role(*, actor: User, organization: Organization) -> str:
    role = Membership.objects.filter(user=actor, organization=organization).values_list("role", flat=True).first()
    if role not in MANAGER_ROLES:
        raise PermissionDeniedError("Only owners and managers can manage members.")
    return str(role)


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


@transaction.atomic
def membership_add(*, actor: User, organization: Organization, email: str, role: str) -> Membership:
    """Add an existing user to the organization. Managers cannot create owners."""
    _lock_organization(organization)
    actor_role = _actor_role(actor=actor, organization=organization)
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise PermissionDeniedError("Only owners can add owners.")
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ApplicationError(
            "No active user has this email; they must register first.", code="user_not_found", attr="email"
        )
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise AlreadyMemberError()
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    audit_log_record(
        action=AuditAction.MEMBERSHIP_ADDED,
        actor=actor,
        organization_id=organization.pk,
        target=membership,
        data={"user_id": str(user.pk), "role": role},
    )
    return membership


@transaction.atomic
def membership_update(*, actor: User, membership: Membership, role: str) -> Membership:
    """Change a member's role. Only owners grant or take away the owner role; the last owner stays."""
    organization = membership.organization
    _lock_organization(organization)
    membership.refresh_from_db()
    actor_role = _actor_role(actor=actor, organization=organization)
    if role == membership.role:
        return membership
    if actor_role != Role.OWNER and Role.OWNER in (role, membership.role):
        raise PermissionDeniedError("Only owners can grant or remove the owner role.")
    if membership.role == Role.OWNER and _owner_count(organization) <= 1:
        raise LastOwnerError("The last owner cannot be demoted; make someone else an owner first.")
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_log_record(
        action=AuditAction.MEMBERSHIP_ROLE_CHANGED,
        actor=actor,
        organization_id=organization.pk,
        target=membership,
        data={"user_id": str(membership.user_id), "from": previous, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    """Remove a member. Anyone may leave; owners/managers remove others; managers cannot remove owners."""
    organization = membership.organization
    _lock_organization(organization)
    membership.refresh_from_db()
    if membership.user_id != actor.pk:
        actor_role = _actor_role(actor=actor, organization=organization)
        if membership.role == Role.OWNER and actor_role != Role.OWNER:
            raise PermissionDeniedError("Only owners can remove owners.")
    if membership.role == Role.OWNER and _owner_count(organization) <= 1:
        raise LastOwnerError("The last owner cannot be removed; make someone else an owner first.")
    audit_log_record(
        action=AuditAction.MEMBERSHIP_REMOVED,
        actor=actor,
        organization_id=organization.pk,
        target=membership,
        data={"user_id": str(membership.user_id), "role": membership.role},
    )
    membership.delete()
