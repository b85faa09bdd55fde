import uuid

from django.conf import settings
from django.db import models

from .fields import EncryptedPlateField


class VehicleType(models.TextChoices):
    MOTORCYCLE = "motorcycle", "Motorcycle"
    COMPACT = "compact", "Compact"
    STANDARD = "standard", "Standard"
    SUV = "suv", "SUV"
    VAN = "van", "Van"


class Vehicle(models.Model):
    """A driver's vehicle. Written only through ``vehicles.services``.

    ``plate`` holds the normalised plate (``vehicles.plates.normalize_plate``), encrypted at rest;
    ``plate_index`` is its keyed blind index (``plate_blind_index``), the only way to look a plate up.
    Invariants kept by the services and guarded by constraints: at most one default vehicle per owner,
    and an owner never has the same plate twice (two drivers may share a plate: a family car).
    """

    # Random UUIDs: ids in URLs reveal neither how many vehicles exist nor each other.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No separate index: the (owner, …) indexes below serve every lookup by owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vehicles", db_index=False
    )
    plate = EncryptedPlateField(help_text="Normalised licence plate, Fernet-encrypted at rest.")
    plate_index = models.CharField(
        max_length=64, editable=False, help_text="HMAC-SHA256 (PLATE_INDEX_KEY) of the normalised plate, hex."
    )
    country = models.CharField(
        max_length=2, null=True, blank=True, help_text="ISO 3166-1 alpha-2 code of the registration, if known."
    )
    vehicle_type = models.CharField(max_length=16, choices=VehicleType.choices)
    is_ev = models.BooleanField("electric vehicle", default=False)
    make = models.CharField(max_length=50, blank=True, default="")
    model = models.CharField(max_length=50, blank=True, default="")
    color = models.CharField(max_length=30, blank=True, default="")
    nickname = models.CharField(max_length=50, blank=True, default="")
    is_default = models.BooleanField("default vehicle", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(fields=("owner", "plate_index"), name="vehicle_owner_plate_unique"),
            # A partial unique index: at most one row per owner with is_default = true.
            models.UniqueConstraint(
                fields=("owner",), condition=models.Q(is_default=True), name="vehicle_one_default_per_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(vehicle_type__in=VehicleType.values), name="vehicle_vehicle_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(country__isnull=True) | models.Q(country__regex=r"^[A-Z]{2}$"),
                name="vehicle_country_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(plate_index__regex=r"^[0-9a-f]{64}$"), name="vehicle_plate_index_hex"
            ),
        )
        indexes = (
            # Gate and enforcement lookups by plate across all owners.
            models.Index(fields=("plate_index",), name="vehicle_plate_index_idx"),
            models.Index(fields=("owner", "created_at"), name="vehicle_owner_created_idx"),
        )

    def __str__(self) -> str:
        # Never the plate, and not the nickname either (drivers type their plate there): this string
        # ends up in logs, the admin's history and error reports.
        return f"{self.get_vehicle_type_display()} vehicle {self.pk}"
