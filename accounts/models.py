import uuid
from typing import Any, ClassVar

import pgtrigger
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_verified", True)
        return self._create(email, password, **extra)


phone_validator = RegexValidator(
    r"^\+?[0-9 ()-]{6,20}$", "Enter a phone number of 6 to 20 digits, optionally starting with +."
)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: driver, owner/staff of organizations, or platform admin. Email is the login."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    is_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ("email",)
        constraints = (
            # Emails are stored lower-cased by the services; this makes a mixed-case duplicate
            # impossible even for a write that bypasses them.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        )

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        # Every path that validates a user (admin forms included) stores the email lower-cased,
        # so login by email is case-insensitive.
        self.email = self.email.strip().lower()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Organization(models.Model):
    """A tenant: a parking operator or an individual host."""

    class Kind(models.TextChoices):
        OPERATOR = "operator", "Operator"
        HOST = "host", "Host"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPERATOR)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code; money is in its minor units.")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="organization_currency_iso"),
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="organization_country_iso"),
        )

    def __str__(self) -> str:
        return self.name


# Module-level alias: drf-spectacular's ENUM_NAME_OVERRIDES cannot import a nested class path.
OrganizationKind = Organization.Kind


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"


class Membership(models.Model):
    """A user's role in an organization. One row per (user, organization)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("organization_id", "created_at", "id")
        constraints = (
            models.UniqueConstraint(fields=("user", "organization"), name="membership_user_organization_unique"),
        )
        indexes = (models.Index(fields=("organization", "role")),)

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"


class AuditAction(models.TextChoices):
    LOGIN_FAILED = "login_failed", "Login failed"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "password_reset_completed", "Password reset completed"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse", "Refresh token reuse detected"
    ORGANIZATION_CREATED = "organization_created", "Organization created"
    ORGANIZATION_UPDATED = "organization_updated", "Organization updated"
    MEMBERSHIP_ADDED = "membership_added", "Membership added"
    MEMBERSHIP_ROLE_CHANGED = "membership_role_changed", "Membership role changed"
    MEMBERSHIP_REMOVED = "membership_removed", "Membership removed"
    CASH_PAYMENT_RECORDED = "cash_payment_recorded", "Cash payment recorded"
    REFUND_REQUESTED = "refund_requested", "Refund requested"
    REFUND_APPROVED = "refund_approved", "Refund approved"
    PAYOUT_SENT = "payout_sent", "Payout sent"
    GATE_KEY_ROTATED = "gate_key_rotated", "Gate key issued or rotated"
    GATE_KEY_REVOKED = "gate_key_revoked", "Gate keys revoked"
    GATE_REMOTE_OPEN = "gate_remote_open", "Gate opened remotely"
    VIOLATION_WAIVED = "violation_waived", "Violation waived"
    VIOLATION_ESCALATED = "violation_escalated", "Violation escalated"
    VIOLATION_REOPENED = "violation_reopened", "Violation reopened"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
    REVIEW_HIDDEN = "review_hidden", "Review hidden"
    REVIEW_UNHIDDEN = "review_unhidden", "Review unhidden"


@pgtrigger.register(
    # Append-only: the database itself refuses UPDATE and DELETE on audit rows, so no code path
    # (ORM, admin, raw SQL from the app role) can rewrite history.
    pgtrigger.Protect(name="audit_log_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
)
class AuditLogEntry(models.Model):
    """One security-relevant action. Actor and organization are plain ids, not foreign keys, so
    deleting a user or organization never has to touch (and cannot erase) its history."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    actor_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    organization_id = models.UUIDField(null=True, blank=True, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = (models.Index(fields=("action", "created_at")),)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action}"


class RefreshTokenFamily(models.Model):
    """Links every refresh token issued by rotation to the login that started the chain.

    Presenting an already-rotated token revokes the whole family (OAuth 2.1 reuse detection).
    """

    jti = models.CharField(max_length=255, unique=True)
    family = models.UUIDField(db_index=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "refresh token families"

    def __str__(self) -> str:
        return f"{self.jti} ∈ {self.family}"
