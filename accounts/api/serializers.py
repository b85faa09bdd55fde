"""Input and output serializers, named uniquely for the OpenAPI schema."""

from django.contrib.auth.password_validation import password_validators_help_texts
from rest_framework import serializers

from accounts.models import Membership, Organization, Role, User, phone_validator

ISO_CURRENCY = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217 currency code, e.g. USD, INR.")
ISO_COUNTRY = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2 country code, e.g. US, IN.")


class UserOutputSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name", "phone", "is_verified", "date_joined")
        read_only_fields = fields


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, help_text=" ".join(password_validators_help_texts())
    )
    password_confirm = serializers.CharField(write_only=True, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, validators=[phone_validator])

    def validate(self, attrs: dict[str, str]) -> dict[str, str]:
        if attrs["password"] != attrs["password_confirm"]:
            raise serializers.ValidationError(
                {"password_confirm": "The two passwords do not match."}, code="password_mismatch"
            )
        return attrs


class TokenObtainInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Short-lived access token (Bearer).")
    refresh = serializers.CharField(help_text="Refresh token; single use, rotated on every refresh.")


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class UserUpdateInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False)
    last_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, validators=[phone_validator])


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(write_only=True)
    new_password = serializers.CharField(write_only=True, help_text=" ".join(password_validators_help_texts()))


class PasswordResetInputSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(write_only=True)


class OrganizationOutputSerializer(serializers.ModelSerializer[Organization]):
    my_role = serializers.ChoiceField(choices=Role.choices, read_only=True, help_text="Your role in it.")

    class Meta:
        model = Organization
        fields = ("id", "name", "slug", "kind", "currency", "country", "my_role", "created_at", "updated_at")
        read_only_fields = fields


class OrganizationCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80, required=False)
    kind = serializers.ChoiceField(choices=Organization.Kind.choices, default=Organization.Kind.OPERATOR)
    currency = ISO_CURRENCY
    country = ISO_COUNTRY


class OrganizationUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.SlugField(max_length=80, required=False)
    kind = serializers.ChoiceField(choices=Organization.Kind.choices, required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text="ISO 4217 currency code.")
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, help_text="ISO 3166-1 alpha-2 code.")


class MemberUserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name")
        read_only_fields = fields


class MembershipOutputSerializer(serializers.ModelSerializer[Membership]):
    user = MemberUserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "user", "role", "created_at", "updated_at")
        read_only_fields = fields


class MembershipCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
