"""Peer-to-peer quick listings: ``/api/v1/listings/`` ("list my driveway in a minute").

A listing is a facility of the caller's personal host organization, with one zone, one spot, an hourly
rule (daily cap) and optionally a monthly pass product (pricing/listings.py). Thin views: validate the
shape, call one service or selector, serialize.
"""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from app.api.helpers import request_user as _user
from app.api.helpers import validated as _validated
from parking.hours import validate_operating_hours
from parking.models import Facility, FacilityKind, SpotSize, validate_timezone
from pricing import listings
from pricing.schemas import MAX_AMOUNT

WEEKLY_AVAILABILITY_HELP = (
    'When drivers may park, as facility operating hours: {"always_open": true} (the default) or '
    '{"always_open": false, "weekly": {"0": [["08:00", "20:00"]], …, "6": []}} with Monday = 0 and '
    '[open, close) intervals in local time ("24:00" = midnight; an interval never crosses midnight).'
)
RATE_HELP = "Integer minor units of the listing's currency (cents, paise), > 0."

# ---------------------------------------------------------------------------- serializers


@extend_schema_field({"type": "string", "enum": list(SpotSize.values)})
class VehicleSizeField(serializers.ChoiceField):
    """A spot size. Its schema lists the values only: with parking's choice labels it would be parking's
    ``SizeEnum`` choice set under a second name, which spectacular warns about."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SpotSize.choices, **kwargs)


class ListingAmenitiesInputSerializer(serializers.Serializer):
    """Missing keys are false on create and unchanged on PATCH."""

    is_covered = serializers.BooleanField(required=False, default=False)
    has_ev_charging = serializers.BooleanField(
        required=False, default=False, help_text="The spot gets a charger (its category stays standard)."
    )
    has_security = serializers.BooleanField(required=False, default=False)
    has_lighting = serializers.BooleanField(required=False, default=False)
    is_accessible = serializers.BooleanField(required=False, default=False)


class ListingCreateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    address_line = serializers.CharField(max_length=255)
    city = serializers.CharField(max_length=120)
    region = serializers.CharField(max_length=120, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2, e.g. US.")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)
    timezone = serializers.CharField(
        max_length=64,
        validators=[validate_timezone],
        help_text="IANA time zone of the place, e.g. America/New_York (hours and daily caps are local).",
    )
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        required=False,
        help_text=(
            "ISO 4217. Default: the country's currency for common countries (US→USD, GB→GBP, IN→INR, "
            "eurozone→EUR, CA→CAD, AU→AUD, …); required for other countries."
        ),
    )
    kind = serializers.ChoiceField(choices=FacilityKind.choices)
    vehicle_size = VehicleSizeField(help_text="The space's size (the spot's size): small, medium, large or xlarge.")
    hourly_rate = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT, help_text=RATE_HELP)
    daily_rate = serializers.IntegerField(
        min_value=1,
        max_value=MAX_AMOUNT,
        required=False,
        allow_null=True,
        help_text=RATE_HELP + " The most a driver pays per local calendar day; at least hourly_rate.",
    )
    monthly_rate = serializers.IntegerField(
        min_value=1,
        max_value=MAX_AMOUNT,
        required=False,
        allow_null=True,
        help_text=RATE_HELP + " Price of a monthly pass; on PATCH, null stops selling it.",
    )
    amenities = ListingAmenitiesInputSerializer(required=False)
    weekly_availability = serializers.JSONField(
        required=False, validators=[validate_operating_hours], help_text=WEEKLY_AVAILABILITY_HELP
    )
    access_instructions = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Shown to drivers with a confirmed booking."
    )


class ListingUpdateInputSerializer(ListingCreateInputSerializer):
    is_published = serializers.BooleanField(required=False, help_text="false hides the listing from search.")


class ListingAmenitiesOutputSerializer(serializers.Serializer):
    is_covered = serializers.BooleanField()
    has_ev_charging = serializers.BooleanField()
    has_security = serializers.BooleanField()
    has_lighting = serializers.BooleanField()
    is_accessible = serializers.BooleanField()


class ListingOutputSerializer(serializers.Serializer):
    """The combined view of a listing (a ``pricing.listings.Listing``)."""

    id = serializers.IntegerField(read_only=True, help_text="The listing id, which is the facility id.")
    title = serializers.CharField(source="facility.name", read_only=True)
    description = serializers.CharField(source="facility.description", read_only=True)
    address_line = serializers.CharField(source="facility.address_line", read_only=True)
    city = serializers.CharField(source="facility.city", read_only=True)
    region = serializers.CharField(source="facility.region", read_only=True)
    postal_code = serializers.CharField(source="facility.postal_code", read_only=True)
    country = serializers.CharField(source="facility.country", read_only=True)
    latitude = serializers.DecimalField(source="facility.latitude", max_digits=9, decimal_places=6, read_only=True)
    longitude = serializers.DecimalField(source="facility.longitude", max_digits=9, decimal_places=6, read_only=True)
    timezone = serializers.CharField(source="facility.timezone", read_only=True)
    currency = serializers.CharField(source="facility.currency", read_only=True)
    kind = serializers.ChoiceField(source="facility.kind", choices=FacilityKind.choices, read_only=True)
    vehicle_size = VehicleSizeField(read_only=True, allow_null=True)
    hourly_rate = serializers.IntegerField(read_only=True, allow_null=True, help_text="Minor units per hour.")
    daily_rate = serializers.IntegerField(read_only=True, allow_null=True, help_text="Daily cap; null = none.")
    monthly_rate = serializers.IntegerField(read_only=True, allow_null=True, help_text="Monthly pass; null = none.")
    amenities = ListingAmenitiesOutputSerializer(read_only=True)
    weekly_availability = serializers.JSONField(
        source="facility.operating_hours", read_only=True, help_text=WEEKLY_AVAILABILITY_HELP
    )
    access_instructions = serializers.CharField(source="facility.access_instructions", read_only=True)
    is_published = serializers.BooleanField(source="facility.is_published", read_only=True)
    facility_id = serializers.IntegerField(source="facility.pk", read_only=True)
    spot_id = serializers.IntegerField(read_only=True, allow_null=True)
    organization_id = serializers.UUIDField(source="facility.organization_id", read_only=True)
    created_at = serializers.DateTimeField(source="facility.created_at", read_only=True)


# ---------------------------------------------------------------------------- views

DRIVEWAY_EXAMPLE = OpenApiExample(
    "List my driveway",
    value={
        "title": "Driveway near the stadium",
        "description": "Wide driveway, fits an SUV. Gate code in the access instructions.",
        "address_line": "12 Elm St",
        "city": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country": "US",
        "latitude": "30.267200",
        "longitude": "-97.743100",
        "timezone": "America/Chicago",
        "kind": "driveway",
        "vehicle_size": "large",
        "hourly_rate": 300,
        "daily_rate": 2000,
        "monthly_rate": 15000,
        "amenities": {"is_covered": False, "has_ev_charging": True, "has_lighting": True},
        "weekly_availability": {"always_open": True},
        "access_instructions": "Park on the left side; the charger cable is in the box by the door.",
    },
    request_only=True,
)

CREATE_DESCRIPTION = """Creates, in one transaction, everything a listed space needs — all or nothing:

- your personal **host organization** if you own none yet (named "<first name>'s parking", in the
  listing's country and currency); later listings reuse the oldest host organization you own;
- a **published facility** (the listing id is the facility id) with zone "Main" and spot "1" of
  `vehicle_size`; `has_ev_charging` gives the spot a charger but keeps its category `standard`, so
  any car that fits can still book it and EV drivers asking for a charger find it;
- an **hourly pricing rule** billed per started hour: `{"rate": hourly_rate, "increment_minutes": 60,
  "modifiers": {"daily_max": daily_rate}}` (the cap only when `daily_rate` is given; it applies per
  local calendar day and must be ≥ `hourly_rate`);
- with `monthly_rate`, a **monthly pass product** at that price.

`currency` defaults from `country` for common countries (US, CA, MX, BR, GB, CH, SE, NO, DK, PL, CZ, IN,
JP, SG, HK, AE, ZA, AU, NZ and the eurozone); elsewhere give it, or the answer is a 400 on `currency`.
`timezone` (IANA) is required. Rates are integer minor units. A 400 names the offending field and
creates nothing."""

UPDATE_DESCRIPTION = """Change any listing field; all changes apply together or none does (one transaction).

Title, description, address, time zone, kind, amenities, weekly availability, access instructions,
`currency` and `is_published` change the facility; `vehicle_size` (and the charger / covered /
accessible amenities) the spot; `hourly_rate` / `daily_rate` the hourly rule (`daily_rate: null` removes
the daily cap; the daily rate must stay ≥ the hourly rate); `monthly_rate` reprices the monthly pass
product (creating it if needed), and `monthly_rate: null` stops selling it (deactivated, so passes already
sold stay valid). Amenity keys you leave out keep their value. Changing `country` does not change the
currency (rates are minor units of it): send `currency` to change it."""

SCOPE_NOTE = (
    "Your listings are the facilities of the host organizations where you are owner or manager; anyone "
    "else's listing is a 404."
)


def _input(serializer_class: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
    validated = _validated(serializer_class, data, **kwargs)
    if "amenities" in validated:
        validated["amenities"] = dict(validated["amenities"])
    return validated


class ListingListApi(generics.GenericAPIView):
    """Authenticated users only (401 otherwise)."""

    serializer_class = ListingOutputSerializer
    queryset = Facility.objects.none()  # the real queryset comes from the selector
    filter_backends = ()

    def get_queryset(self) -> QuerySet[Facility]:
        return listings.listing_list(actor=_user(self.request))

    @extend_schema(
        operation_id="listings_list",
        tags=["listings"],
        summary="My listings (newest first, published or not)",
        description=SCOPE_NOTE,
        responses={200: ListingOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            ListingOutputSerializer(listings.listings_for(list(page or [])), many=True).data
        )

    @extend_schema(
        operation_id="listings_create",
        tags=["listings"],
        summary="List a driveway or garage in one call",
        description=CREATE_DESCRIPTION,
        request=ListingCreateInputSerializer,
        responses={201: ListingOutputSerializer},
        examples=[DRIVEWAY_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = _input(ListingCreateInputSerializer, request.data)
        listing = listings.listing_create(actor=_user(request), data=data)
        return Response(ListingOutputSerializer(listing).data, status=status.HTTP_201_CREATED)


class ListingDetailApi(generics.GenericAPIView):
    """Authenticated users only; another user's listing is a 404."""

    serializer_class = ListingOutputSerializer
    queryset = Facility.objects.none()
    filter_backends = ()

    @extend_schema(
        operation_id="listings_retrieve",
        tags=["listings"],
        summary="One of my listings: facility, spot, rates and pass in one view",
        description=SCOPE_NOTE,
        responses={200: ListingOutputSerializer},
    )
    def get(self, request: Request, listing_id: int) -> Response:
        listing = listings.listing_get(actor=_user(request), listing_id=listing_id)
        return Response(ListingOutputSerializer(listing).data)

    @extend_schema(
        operation_id="listings_update",
        tags=["listings"],
        summary="Change a listing (all or nothing)",
        description=UPDATE_DESCRIPTION + "\n\n" + SCOPE_NOTE,
        request=ListingUpdateInputSerializer(partial=True),
        responses={200: ListingOutputSerializer},
        examples=[
            OpenApiExample(
                "New rates, no monthly pass",
                value={"hourly_rate": 350, "daily_rate": 2500, "monthly_rate": None},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request, listing_id: int) -> Response:
        listing = listings.listing_get(actor=_user(request), listing_id=listing_id)
        data = _input(ListingUpdateInputSerializer, request.data, partial=True)
        listing = listings.listing_update(listing=listing, data=data)
        return Response(ListingOutputSerializer(listing).data)
