"""Input and output serializers, one per operation; names are unique across the schema."""

from rest_framework import serializers

from ..models import VehicleType
from ..plates import PLATE_MAX_LENGTH

# Raw input may carry spaces, dashes and dots that normalisation removes; bound it all the same.
PLATE_INPUT_MAX_LENGTH = 32
PLATE_HELP = (
    "Licence plate. Normalised before storage (Unicode NFKC, upper case, spaces, dashes and dots "
    f'removed): "ab-12 cd" and "AB12CD" are the same plate. 1 to {PLATE_MAX_LENGTH} letters or digits '
    "after normalisation. Unique per driver."
)
COUNTRY_HELP = "ISO 3166-1 alpha-2 code of the registration country (case-insensitive), or null if unknown."


class VehicleCreateInputSerializer(serializers.Serializer):
    plate = serializers.CharField(max_length=PLATE_INPUT_MAX_LENGTH, help_text=PLATE_HELP)
    country = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text=COUNTRY_HELP)
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices)
    is_ev = serializers.BooleanField(required=False, default=False)
    make = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    model = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    color = serializers.CharField(required=False, allow_blank=True, max_length=30, default="")
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    is_default = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Make this the default vehicle (the previous default is unset). A driver's first vehicle "
        "is always the default.",
    )


class VehicleUpdateInputSerializer(serializers.Serializer):
    """Every field is optional; only the fields sent are changed."""

    plate = serializers.CharField(required=False, max_length=PLATE_INPUT_MAX_LENGTH, help_text=PLATE_HELP)
    country = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text=COUNTRY_HELP)
    vehicle_type = serializers.ChoiceField(required=False, choices=VehicleType.choices)
    is_ev = serializers.BooleanField(required=False)
    make = serializers.CharField(required=False, allow_blank=True, max_length=50)
    model = serializers.CharField(required=False, allow_blank=True, max_length=50)
    color = serializers.CharField(required=False, allow_blank=True, max_length=30)
    nickname = serializers.CharField(required=False, allow_blank=True, max_length=50)
    is_default = serializers.BooleanField(
        required=False,
        help_text="true makes this the default vehicle (the previous default is unset). false on the "
        "default vehicle is refused (`default_required`): make another vehicle the default instead.",
    )


class VehicleOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    plate = serializers.CharField(help_text="The normalised licence plate.")
    country = serializers.CharField(allow_null=True, help_text="ISO 3166-1 alpha-2 code, or null.")
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices)
    is_ev = serializers.BooleanField()
    make = serializers.CharField()
    model = serializers.CharField()
    color = serializers.CharField()
    nickname = serializers.CharField()
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
