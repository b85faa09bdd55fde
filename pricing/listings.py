"""Peer-to-peer quick listings: "list my driveway in a minute".

A listing is not a table of its own. It is a view over objects that already exist, so bookings, search,
quotes and the back office treat a listed driveway exactly like any other facility:

- the host's personal organization (kind ``host``; created on the first listing),
- a published facility (the listing id *is* the facility id) with one zone ("Main") and one spot ("1"),
- one facility-wide ``hourly`` pricing rule (``daily_max`` modifier = the daily rate), and
- optionally a monthly ``PassProduct`` (the monthly rate).

Every write goes through the owning app's services (``accounts.services``, ``parking.services``,
``pricing.services``); this module only orchestrates them inside one transaction and renames the
fields their errors name to the listing's field names (``name`` → ``title``, ``config.rate`` →
``hourly_rate``, …).

Money: every rate is an integer of minor units of the listing's currency, > 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Membership, Organization, Role, User
from accounts.selectors import MANAGER_ROLES
from accounts.services import organization_create
from app.exceptions import ApplicationError, NotFoundError
from parking import services as parking_services
from parking.hours import ALWAYS_OPEN
from parking.models import Facility, Spot, SpotCategory, SpotSize, Zone

from . import services
from .models import PassPeriod, PassProduct, PricingRule, Strategy

LISTING_ZONE_NAME: Final = "Main"
LISTING_SPOT_CODE: Final = "1"
LISTING_RULE_NAME: Final = "Hourly"
MONTHLY_PRODUCT_NAME: Final = "Monthly pass"
LISTING_INCREMENT_MINUTES: Final = 60

AMENITIES: Final = ("is_covered", "has_ev_charging", "has_security", "has_lighting", "is_accessible")
# Amenities that also describe the spot itself (spot field ← amenity). ``has_ev_charging`` gives the
# spot a charger but keeps its category ``standard``: an ``ev`` spot is offered only to electric
# vehicles (parking/compatibility.py), and a host's single driveway should stay bookable by any car
# that fits while still being found by EV drivers who ask for a charger (``needs_ev``).
SPOT_AMENITIES: Final = {
    "has_ev_charger": "has_ev_charging",
    "is_covered": "is_covered",
    "is_accessible": "is_accessible",
}

# Listing field → facility field (amenities are facility fields of the same name).
FACILITY_FIELDS: Final = {
    "title": "name",
    "description": "description",
    "address_line": "address_line",
    "city": "city",
    "region": "region",
    "postal_code": "postal_code",
    "country": "country",
    "latitude": "latitude",
    "longitude": "longitude",
    "timezone": "timezone",
    "currency": "currency",
    "kind": "kind",
    "weekly_availability": "operating_hours",
    "access_instructions": "access_instructions",
    "is_published": "is_published",
}

# ISO 3166-1 alpha-2 → ISO 4217 for the countries hosts list from most. Deliberately small and
# explicit: a host elsewhere passes ``currency``. (Eurozone as of 2025.)
EUROZONE: Final = frozenset(
    [
        "AT",
        "BE",
        "CY",
        "DE",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "SI",
        "SK",
    ]
)
COUNTRY_CURRENCY: Final[Mapping[str, str]] = {
    "US": "USD",
    "CA": "CAD",
    "MX": "MXN",
    "BR": "BRL",
    "GB": "GBP",
    "CH": "CHF",
    "SE": "SEK",
    "NO": "NOK",
    "DK": "DKK",
    "PL": "PLN",
    "CZ": "CZK",
    "IN": "INR",
    "JP": "JPY",
    "SG": "SGD",
    "HK": "HKD",
    "AE": "AED",
    "ZA": "ZAR",
    "AU": "AUD",
    "NZ": "NZD",
    **dict.fromkeys(EUROZONE, "EUR"),
}


@dataclass(frozen=True)
class Listing:
    """The objects one listing maps to. ``spot``/``rule``/``pass_product`` may be None for a facility of
    a host organization that was set up through the inventory API rather than as a listing."""

    facility: Facility
    spot: Spot | None
    rule: PricingRule | None
    pass_product: PassProduct | None

    @property
    def id(self) -> int:
        return self.facility.pk

    @property
    def spot_id(self) -> int | None:
        return self.spot.pk if self.spot is not None else None

    @property
    def vehicle_size(self) -> str | None:
        return self.spot.size if self.spot is not None else None

    @property
    def hourly_rate(self) -> int | None:
        return int(self.rule.config["rate"]) if self.rule is not None else None

    @property
    def daily_rate(self) -> int | None:
        if self.rule is None:
            return None
        daily = (self.rule.config.get("modifiers") or {}).get("daily_max")
        return int(daily) if daily is not None else None

    @property
    def monthly_rate(self) -> int | None:
        product = self.pass_product
        return product.price if product is not None and product.is_active else None

    @property
    def amenities(self) -> dict[str, bool]:
        return {name: bool(getattr(self.facility, name)) for name in AMENITIES}


# ---------------------------------------------------------------------------- reads


def host_organization_for(*, user: User) -> Organization | None:
    """The user's personal host organization: the first (oldest) ``host`` organization they own."""
    return (
        Organization.objects.filter(kind=Organization.Kind.HOST, memberships__user=user, memberships__role=Role.OWNER)
        .order_by("created_at", "pk")
        .first()
    )


def listing_organization_ids_for(*, actor: User) -> QuerySet[Membership, Any]:
    """Host organizations where the actor may manage listings (owner or manager)."""
    return Membership.objects.filter(
        user=actor, role__in=MANAGER_ROLES, organization__kind=Organization.Kind.HOST
    ).values_list("organization_id", flat=True)


def listing_list(*, actor: User) -> QuerySet[Facility]:
    """The actor's listings (facilities of their host organizations), newest first, published or not."""
    return Facility.objects.filter(organization_id__in=listing_organization_ids_for(actor=actor)).order_by(
        "-created_at", "-pk"
    )


def listings_for(facilities: Sequence[Facility]) -> list[Listing]:
    """Each facility with its listing spot, rule and monthly pass product: three queries for any page.

    - spot: the facility's first spot (lowest id: the one the listing created);
    - rule: the active, facility-wide, unrestricted ``hourly`` rule that wins precedence (priority,
      then newest) — the one that prices the listing;
    - pass product: the oldest active monthly product, else the oldest inactive one.
    """
    ids = [facility.pk for facility in facilities]
    if not ids:
        return []
    # DISTINCT ON (facility_id): one row per facility, whatever else the host created.
    spots = {
        spot.facility_id: spot
        for spot in Spot.objects.filter(facility_id__in=ids).order_by("facility_id", "pk").distinct("facility_id")
    }
    rules = {
        rule.facility_id: rule
        for rule in PricingRule.objects.filter(
            facility_id__in=ids,
            zone__isnull=True,
            spot__isnull=True,
            strategy=Strategy.HOURLY,
            is_active=True,
            vehicle_types=[],
            spot_categories=[],
        )
        .order_by("facility_id", "-priority", "-created_at", "-pk")
        .distinct("facility_id")
    }
    products = {
        product.facility_id: product
        for product in PassProduct.objects.filter(facility_id__in=ids, period=PassPeriod.MONTHLY)
        .order_by("facility_id", "-is_active", "pk")
        .distinct("facility_id")
    }
    return [
        Listing(
            facility=facility,
            spot=spots.get(facility.pk),
            rule=rules.get(facility.pk),
            pass_product=products.get(facility.pk),
        )
        for facility in facilities
    ]


def listing_get(*, actor: User, listing_id: int) -> Listing:
    """One of the actor's listings; 404 for anyone else's (existence is not revealed)."""
    facility = listing_list(actor=actor).filter(pk=listing_id).first()
    if facility is None:
        raise NotFoundError("Listing not found.")
    return listings_for([facility])[0]


# ---------------------------------------------------------------------------- helpers


def currency_for(*, country: str, currency: str | None, organization: Organization | None) -> str:
    """The listing's currency: the one given, else the country's (COUNTRY_CURRENCY), else the host
    organization's when it is in the same country. Otherwise a 400 on ``currency``."""
    if currency:
        return currency.upper()
    country = country.upper()
    if country in COUNTRY_CURRENCY:
        return COUNTRY_CURRENCY[country]
    if organization is not None and organization.country == country:
        return organization.currency
    raise ApplicationError(
        f"We do not know the currency of country {country!r}; give `currency` (ISO 4217, e.g. EUR).",
        code="currency_required",
        attr="currency",
    )


def _check_rates(*, hourly: int, daily: int | None, attr: str) -> None:
    if daily is not None and daily < hourly:
        raise ApplicationError(
            f"The daily rate ({daily}) must be at least the hourly rate ({hourly}).",
            code="daily_rate_below_hourly_rate",
            attr=attr,
        )


def _hourly_config(*, hourly: int, daily: int | None, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The rule config for the rates, keeping anything else the host set through the rules API."""
    config: dict[str, Any] = dict(base or {"increment_minutes": LISTING_INCREMENT_MINUTES})
    config["rate"] = hourly
    modifiers = dict(config.get("modifiers") or {})
    if daily is None:
        modifiers.pop("daily_max", None)
    else:
        modifiers["daily_max"] = daily
    if modifiers:
        config["modifiers"] = modifiers
    else:
        config.pop("modifiers", None)
    return config


def _host_name(user: User) -> str:
    first = user.first_name.strip() or user.email.split("@", 1)[0]
    return f"{first}'s parking"


def _renamed(attr: str, names: Mapping[str, str]) -> str:
    """The listing field for a field another service named (longest matching prefix wins)."""
    for prefix in sorted(names, key=len, reverse=True):
        if attr == prefix or attr.startswith((f"{prefix}.", f"{prefix}[")):
            return names[prefix]
    return attr


FACILITY_ERROR_NAMES: Final = {"name": "title", "operating_hours": "weekly_availability"}
SPOT_ERROR_NAMES: Final = {"size": "vehicle_size"}
RULE_ERROR_NAMES: Final = {"config.modifiers.daily_max": "daily_rate", "config": "hourly_rate"}
PASS_ERROR_NAMES: Final = {"price": "monthly_rate"}


@contextmanager
def _fields_named(names: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a service's error naming the listing field (``attr`` of the 400) instead of its own."""
    try:
        yield
    except ApplicationError as exc:
        if exc.attr:
            exc.attr = _renamed(exc.attr, names)
        raise
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError(
            {_renamed(field, names): errors for field, errors in exc.error_dict.items()}
        ) from exc


def _facility_data(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = {FACILITY_FIELDS[key]: value for key, value in data.items() if key in FACILITY_FIELDS}
    fields.update({name: bool(value) for name, value in (data.get("amenities") or {}).items() if name in AMENITIES})
    return fields


def _spot_data(data: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "vehicle_size" in data:
        fields["size"] = data["vehicle_size"]
    amenities = data.get("amenities") or {}
    fields.update(
        {field: bool(amenities[amenity]) for field, amenity in SPOT_AMENITIES.items() if amenity in amenities}
    )
    return fields


def _listing_spot_create(*, facility: Facility, data: dict[str, Any]) -> Spot:
    """The listing's zone ("Main", or the facility's first zone) and spot "1" of ``data['size']``."""
    zone = Zone.objects.filter(facility=facility).order_by("pk").first()
    if zone is None:
        zone = parking_services.zone_create(facility=facility, data={"name": LISTING_ZONE_NAME})
    spot_data = {
        "code": LISTING_SPOT_CODE,
        "size": SpotSize.MEDIUM,
        "category": SpotCategory.STANDARD,
        **{field: getattr(facility, amenity) for field, amenity in SPOT_AMENITIES.items()},
        **data,
    }
    with _fields_named(SPOT_ERROR_NAMES):
        return parking_services.spot_create(zone=zone, data=spot_data)


# ---------------------------------------------------------------------------- writes


@transaction.atomic
def listing_create(*, actor: User, data: dict[str, Any]) -> Listing:
    """Create a listing in one transaction: the host organization (if the actor owns no ``host``
    organization yet), a published facility, zone "Main", spot "1", the hourly rule and, with
    ``monthly_rate``, a monthly pass product. Any error rolls everything back.

    ``data`` keys (validated for shape by the API serializer): title, description?, address_line, city,
    region?, postal_code?, country, latitude, longitude, timezone, currency?, kind, vehicle_size,
    hourly_rate, daily_rate?, monthly_rate?, amenities? ({name: bool}; missing = false),
    weekly_availability? (operating hours JSON; default always open), access_instructions?.

    Concurrency: the actor's user row is locked (``SELECT … FOR UPDATE``) first, so two first listings
    sent at once cannot both create a personal organization.
    """
    User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).get()
    organization = host_organization_for(user=actor)
    country = str(data["country"]).upper()
    currency = currency_for(country=country, currency=data.get("currency"), organization=organization)
    hourly, daily, monthly = data["hourly_rate"], data.get("daily_rate"), data.get("monthly_rate")
    _check_rates(hourly=hourly, daily=daily, attr="daily_rate")

    if organization is None:
        organization = organization_create(
            actor=actor, name=_host_name(actor), kind=Organization.Kind.HOST, currency=currency, country=country
        )
    facility_data = {
        "operating_hours": dict(ALWAYS_OPEN),
        **_facility_data(data),
        **{name: bool((data.get("amenities") or {}).get(name, False)) for name in AMENITIES},
        "country": country,
        "currency": currency,
        "is_published": True,
    }
    with _fields_named(FACILITY_ERROR_NAMES):
        facility = parking_services.facility_create(organization=organization, data=facility_data)
    spot = _listing_spot_create(facility=facility, data=_spot_data(data))
    with _fields_named(RULE_ERROR_NAMES):
        rule = services.rule_create(
            facility=facility,
            data={
                "name": LISTING_RULE_NAME,
                "strategy": Strategy.HOURLY,
                "config": _hourly_config(hourly=hourly, daily=daily),
            },
        )
    product = None
    if monthly is not None:
        with _fields_named(PASS_ERROR_NAMES):
            product = services.pass_product_create(
                facility=facility, data={"name": MONTHLY_PRODUCT_NAME, "period": PassPeriod.MONTHLY, "price": monthly}
            )
    return Listing(facility=facility, spot=spot, rule=rule, pass_product=product)


@transaction.atomic
def listing_update(*, listing: Listing, data: dict[str, Any]) -> Listing:
    """Change any listing field in one transaction (all or nothing).

    Maps to ``facility_update`` (address, title, hours, amenities, publication, currency), ``spot_update``
    (``vehicle_size``; amenities that describe the spot: charger, covered, accessible), ``rule_update``
    (``hourly_rate``/``daily_rate``; ``daily_rate: null`` removes the cap) and the monthly pass product
    (created, repriced and reactivated, or deactivated by ``monthly_rate: null`` — never deleted, since
    sold passes point at it). Amenity keys that are not sent keep their value. Changing ``country``
    does not change the currency: rates are minor units of the current currency; send ``currency``
    to change it.

    The facility row is locked first, so concurrent changes of one listing apply one after the other
    and the daily ≥ hourly check always sees the rates it is about to write.
    """
    facility = Facility.objects.select_for_update().get(pk=listing.facility.pk)
    current = listings_for([facility])[0]

    rates_change = "hourly_rate" in data or "daily_rate" in data
    hourly: int | None = data.get("hourly_rate", current.hourly_rate)
    daily: int | None = data.get("daily_rate", current.daily_rate)
    if rates_change:
        if hourly is None:
            raise ApplicationError(
                "This listing has no hourly rate yet; give hourly_rate.", code="required", attr="hourly_rate"
            )
        _check_rates(hourly=hourly, daily=daily, attr="daily_rate" if "daily_rate" in data else "hourly_rate")

    with _fields_named(FACILITY_ERROR_NAMES):
        facility = parking_services.facility_update(facility=facility, data=_facility_data(data))

    spot = current.spot
    spot_changes = _spot_data(data)
    if spot_changes:
        if spot is None:
            spot = _listing_spot_create(facility=facility, data=spot_changes)
        else:
            with _fields_named(SPOT_ERROR_NAMES):
                spot = parking_services.spot_update(spot=spot, data=spot_changes)

    product = current.pass_product
    if "monthly_rate" in data:
        monthly = data["monthly_rate"]
        with _fields_named(PASS_ERROR_NAMES):
            if monthly is None:
                if product is not None and product.is_active:
                    product = services.pass_product_update(product=product, data={"is_active": False})
            elif product is None:
                product = services.pass_product_create(
                    facility=facility,
                    data={"name": MONTHLY_PRODUCT_NAME, "period": PassPeriod.MONTHLY, "price": monthly},
                )
            else:
                product = services.pass_product_update(product=product, data={"price": monthly, "is_active": True})

    rule = current.rule
    if rates_change:
        assert hourly is not None  # checked above
        with _fields_named(RULE_ERROR_NAMES):
            if rule is None:
                rule = services.rule_create(
                    facility=facility,
                    data={
                        "name": LISTING_RULE_NAME,
                        "strategy": Strategy.HOURLY,
                        "config": _hourly_config(hourly=hourly, daily=daily),
                    },
                )
            else:
                rule = services.rule_update(
                    rule=rule, data={"config": _hourly_config(hourly=hourly, daily=daily, base=rule.config)}
                )
    return Listing(facility=facility, spot=spot, rule=rule, pass_product=product)
