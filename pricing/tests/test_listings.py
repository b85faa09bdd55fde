"""Peer-to-peer quick listings: the "list my driveway in a minute" journey, scoping, validation and
all-or-nothing writes (pricing/listings.py, pricing/api/listings.py)."""

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Organization, Role
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from app.exceptions import ApplicationError
from parking.models import Facility, Spot, Zone
from parking.tests.factories import make_facility
from pricing import listings
from pricing.models import PassProduct, PricingRule

pytestmark = pytest.mark.django_db

LISTINGS = "/api/v1/listings/"
QUOTE = "/api/v1/pricing/quote/"
FACILITIES = "/api/v1/facilities/"
CHICAGO = ZoneInfo("America/Chicago")
MODELS = (Organization, Membership, Facility, Zone, Spot, PricingRule, PassProduct)


def driveway(**overrides):
    body = {
        "title": "Driveway near the stadium",
        "description": "Wide driveway, fits an SUV.",
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
        "amenities": {"has_ev_charging": True, "has_lighting": True},
        "access_instructions": "Park on the left side.",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def detail(listing_id):
    return f"{LISTINGS}{listing_id}/"


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def window(hours, *, day=10, start_hour=9):
    start = datetime(2030, 6, day, start_hour, 0, tzinfo=CHICAGO)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def snapshot(listing_id):
    """Every column of every object the listing maps to."""
    facility = Facility.objects.filter(pk=listing_id).values().get()
    return {
        "organization": list(Organization.objects.filter(pk=facility["organization_id"]).values()),
        "facility": facility,
        "zones": list(Zone.objects.filter(facility_id=listing_id).values()),
        "spots": list(Spot.objects.filter(facility_id=listing_id).values()),
        "rules": list(PricingRule.objects.filter(facility_id=listing_id).values()),
        "products": list(PassProduct.objects.filter(facility_id=listing_id).values()),
    }


@pytest.fixture
def host():
    return UserFactory(email="maya@example.com", first_name="Maya")


@pytest.fixture
def host_client(auth_client, host):
    return auth_client(host)


@pytest.fixture
def listing(host_client):
    response = host_client.post(LISTINGS, driveway(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# ---------------------------------------------------------------------------- the journey


def test_driveway_journey_creates_everything_and_is_bookable(host, host_client, api_client):
    # when the host lists the driveway
    response = host_client.post(LISTINGS, driveway(), format="json")

    # then one call created the organization, facility, zone, spot, rule and pass product
    assert response.status_code == 201, response.json()
    body = response.json()
    organization = Organization.objects.get()
    assert (organization.kind, organization.name, organization.currency, organization.country) == (
        "host",
        "Maya's parking",
        "USD",
        "US",
    )
    assert Membership.objects.get(organization=organization).user == host
    assert Membership.objects.get(organization=organization).role == Role.OWNER

    facility = Facility.objects.get()
    assert body["id"] == body["facility_id"] == facility.pk
    assert facility.organization == organization
    assert facility.name == "Driveway near the stadium"
    assert facility.kind == "driveway"
    assert facility.is_published is True
    assert (facility.timezone, facility.currency, facility.country) == ("America/Chicago", "USD", "US")
    assert (facility.latitude, facility.longitude) == (Decimal("30.267200"), Decimal("-97.743100"))
    assert facility.operating_hours == {"always_open": True}
    assert (facility.has_ev_charging, facility.has_lighting, facility.is_covered) == (True, True, False)
    assert (facility.has_security, facility.is_accessible) == (False, False)
    assert facility.access_instructions == "Park on the left side."

    zone = Zone.objects.get()
    assert (zone.facility, zone.name) == (facility, "Main")
    spot = Spot.objects.get()
    assert (spot.zone, spot.code, spot.size, spot.category) == (zone, "1", "large", "standard")
    assert (spot.has_ev_charger, spot.ev_charger_status, spot.organization_id) == (True, "available", organization.pk)

    rule = PricingRule.objects.get()
    assert (rule.facility, rule.zone, rule.spot, rule.strategy, rule.is_active) == (
        facility,
        None,
        None,
        "hourly",
        True,
    )
    assert rule.config == {"rate": 300, "increment_minutes": 60, "modifiers": {"daily_max": 2000}}
    assert rule.organization_id == organization.pk
    product = PassProduct.objects.get()
    assert (product.facility, product.period, product.price, product.is_active) == (facility, "monthly", 15000, True)

    assert body == {
        "id": facility.pk,
        "title": "Driveway near the stadium",
        "description": "Wide driveway, fits an SUV.",
        "address_line": "12 Elm St",
        "city": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country": "US",
        "latitude": "30.267200",
        "longitude": "-97.743100",
        "timezone": "America/Chicago",
        "currency": "USD",
        "kind": "driveway",
        "vehicle_size": "large",
        "hourly_rate": 300,
        "daily_rate": 2000,
        "monthly_rate": 15000,
        "amenities": {
            "is_covered": False,
            "has_ev_charging": True,
            "has_security": False,
            "has_lighting": True,
            "is_accessible": False,
        },
        "weekly_availability": {"always_open": True},
        "access_instructions": "Park on the left side.",
        "is_published": True,
        "facility_id": facility.pk,
        "spot_id": spot.pk,
        "organization_id": str(organization.pk),
        "created_at": body["created_at"],
    }

    # and drivers find it in public search with a price for their window
    start, end = window(3)
    search = api_client.get(FACILITIES, {"start": start, "end": end, "vehicle_type": "suv"})
    assert search.status_code == 200, search.json()
    [found] = search.json()["results"]
    assert found["id"] == facility.pk
    assert found["available_spots"] == 1
    assert found["price"] == {"total": 900 + 90 + 50, "parking_amount": 900, "currency": "USD"}

    # and quotes: 3 hours at the hourly rate
    quote = api_client.post(QUOTE, {"facility": facility.pk, "vehicle_type": "suv", "start": start, "end": end})
    assert quote.status_code == 201, quote.json()
    assert quote.json()["parking_amount"] == 3 * 300
    assert quote.json()["currency"] == "USD"

    # and 30 hours (09:00 → 15:00 next day): 15 h a day = 4500 each, capped at 2000 per local day
    start, end = window(30)
    quote = api_client.post(QUOTE, {"facility": facility.pk, "vehicle_type": "suv", "start": start, "end": end})
    assert quote.status_code == 201, quote.json()
    assert quote.json()["parking_amount"] == 2 * 2000
    assert [item["code"] for item in quote.json()["line_items"]][-1] == "daily_max"
    assert sum(item["amount"] for item in quote.json()["line_items"]) == 4000


def test_get_returns_the_combined_view(host_client, listing):
    response = host_client.get(detail(listing["id"]))

    assert response.status_code == 200
    assert response.json() == listing


def test_second_listing_reuses_the_host_organization(host, host_client, listing):
    response = host_client.post(LISTINGS, driveway(title="Garage on 5th", kind="garage"), format="json")

    assert response.status_code == 201, response.json()
    assert Organization.objects.count() == 1
    assert response.json()["organization_id"] == listing["organization_id"]
    assert Facility.objects.filter(organization_id=listing["organization_id"]).count() == 2
    mine = host_client.get(LISTINGS).json()
    assert mine["count"] == 2
    assert [item["title"] for item in mine["results"]] == ["Garage on 5th", "Driveway near the stadium"]


def test_an_owned_host_organization_is_reused_but_not_one_merely_managed(host, host_client):
    managed = OrganizationFactory(kind="host", slug="someone-elses")
    MembershipFactory(user=host, organization=managed, role=Role.MANAGER)
    operator = OrganizationFactory(kind="operator", slug="my-operator")
    MembershipFactory(user=host, organization=operator, role=Role.OWNER)

    first = host_client.post(LISTINGS, driveway(), format="json").json()

    personal = Organization.objects.get(pk=first["organization_id"])
    assert personal not in (managed, operator)
    assert personal.kind == "host"

    older = OrganizationFactory(kind="host", slug="older-host")
    MembershipFactory(user=host, organization=older, role=Role.OWNER)
    Organization.objects.filter(pk=older.pk).update(created_at=personal.created_at - timedelta(days=1))
    second = host_client.post(LISTINGS, driveway(), format="json").json()
    assert second["organization_id"] == str(older.pk)


def test_organization_name_falls_back_to_the_email_local_part(auth_client):
    user = UserFactory(email="sam.lee@example.com", first_name="")

    response = auth_client(user).post(LISTINGS, driveway(), format="json")

    assert response.status_code == 201, response.json()
    assert Organization.objects.get().name == "sam.lee's parking"


@pytest.mark.parametrize(
    ("country", "currency", "expected"),
    [("GB", ..., "GBP"), ("de", ..., "EUR"), ("IN", ..., "INR"), ("KE", "kes", "KES"), ("US", "eur", "EUR")],
)
def test_currency_from_country_or_body(host_client, country, currency, expected):
    response = host_client.post(LISTINGS, driveway(country=country, currency=currency), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["currency"] == expected
    assert Organization.objects.get().currency == expected
    assert Facility.objects.get().country == country.upper()


def test_listing_without_daily_or_monthly_rate(host_client):
    response = host_client.post(
        LISTINGS,
        driveway(daily_rate=..., monthly_rate=None, amenities=..., description=..., access_instructions=...),
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["daily_rate"], body["monthly_rate"]) == (None, None)
    assert PricingRule.objects.get().config == {"rate": 300, "increment_minutes": 60}
    assert not PassProduct.objects.exists()
    assert body["amenities"] == dict.fromkeys(listings.AMENITIES, False)
    assert Spot.objects.get().has_ev_charger is False
    assert (body["description"], body["access_instructions"]) == ("", "")


def test_weekly_availability_becomes_operating_hours(host_client, api_client):
    hours = {"always_open": False, "weekly": {"0": [["08:00", "18:00"]]}}

    response = host_client.post(LISTINGS, driveway(weekly_availability=hours), format="json")

    assert response.status_code == 201, response.json()
    assert Facility.objects.get().operating_hours == hours
    # Monday 2030-06-10 09:00–12:00 is open; Tuesday is not.
    start, end = window(3)
    assert api_client.get(FACILITIES, {"start": start, "end": end}).json()["results"][0]["available_spots"] == 1
    start, end = window(3, day=11)
    assert api_client.get(FACILITIES, {"start": start, "end": end}).json()["results"][0]["available_spots"] == 0


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"timezone": ...}, "timezone"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"daily_rate": 299}, "daily_rate"),
        ({"hourly_rate": 0}, "hourly_rate"),
        ({"hourly_rate": 12.5}, "hourly_rate"),
        ({"hourly_rate": ...}, "hourly_rate"),
        ({"monthly_rate": 0}, "monthly_rate"),
        ({"kind": "castle"}, "kind"),
        ({"vehicle_size": "huge"}, "vehicle_size"),
        ({"vehicle_size": ...}, "vehicle_size"),
        ({"weekly_availability": {"always_open": False, "weekly": {"0": [["20:00", "08:00"]]}}}, "weekly_availability"),
        ({"weekly_availability": "weekdays"}, "weekly_availability"),
        ({"amenities": {"is_covered": "maybe"}}, "amenities.is_covered"),
        ({"amenities": ["is_covered"]}, "amenities.non_field_errors"),
        ({"country": "USA"}, "country"),
        ({"country": ...}, "country"),
        ({"country": "KE"}, "currency"),
        ({"currency": "dollars"}, "currency"),
        ({"title": ...}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"latitude": "91"}, "latitude"),
        ({"address_line": ""}, "address_line"),
    ],
)
def test_invalid_input_is_400_naming_the_field_and_creates_nothing(host_client, overrides, attr):
    before = counts()

    response = host_client.post(LISTINGS, driveway(**overrides), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert attr in [error["attr"] for error in body["errors"]], body
    assert counts() == before


def test_an_error_after_the_organization_was_created_rolls_everything_back(host, monkeypatch):
    """A failure late in the transaction (here: the pass product) leaves no organization behind."""
    before = counts()

    def fail(**kwargs):
        raise ApplicationError("Boom.", code="invalid", attr="price")

    monkeypatch.setattr(listings.services, "pass_product_create", fail)
    data = {**driveway(), "latitude": Decimal("30.2672"), "longitude": Decimal("-97.7431")}

    with pytest.raises(ApplicationError) as caught:
        listings.listing_create(actor=host, data=data)

    assert caught.value.attr == "monthly_rate"
    assert counts() == before


def test_service_errors_name_the_listing_fields(host):
    data = {**driveway(), "title": "x" * 300, "latitude": Decimal("30.2672"), "longitude": Decimal("-97.7431")}

    with pytest.raises(DjangoValidationError) as caught:
        listings.listing_create(actor=host, data=data)

    assert "title" in caught.value.message_dict
    assert counts() == dict.fromkeys((model.__name__ for model in MODELS), 0)


# ---------------------------------------------------------------------------- access


def test_anonymous_is_401(api_client, listing):
    for response in (
        api_client.get(LISTINGS),
        api_client.post(LISTINGS, driveway(), format="json"),
        api_client.get(detail(listing["id"])),
        api_client.patch(detail(listing["id"]), {"hourly_rate": 1}, format="json"),
    ):
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert Facility.objects.count() == 1


def test_another_users_listing_is_404(auth_client, listing):
    stranger = auth_client(UserFactory(email="stranger@example.com"))
    before = snapshot(listing["id"])

    assert stranger.get(detail(listing["id"])).status_code == 404
    response = stranger.patch(detail(listing["id"]), {"hourly_rate": 1, "title": "Mine now"}, format="json")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert stranger.get(LISTINGS).json()["count"] == 0
    assert snapshot(listing["id"]) == before


def test_staff_of_the_host_organization_do_not_manage_listings(auth_client, listing):
    helper = UserFactory(email="helper@example.com")
    MembershipFactory(
        user=helper, organization=Organization.objects.get(pk=listing["organization_id"]), role=Role.STAFF
    )

    assert auth_client(helper).get(detail(listing["id"])).status_code == 404
    assert auth_client(helper).get(LISTINGS).json()["count"] == 0


def test_a_manager_of_the_host_organization_manages_its_listings(auth_client, listing):
    manager = UserFactory(email="manager@example.com")
    MembershipFactory(
        user=manager, organization=Organization.objects.get(pk=listing["organization_id"]), role=Role.MANAGER
    )

    response = auth_client(manager).patch(detail(listing["id"]), {"hourly_rate": 350}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["hourly_rate"] == 350


def test_operator_facilities_are_not_listings(host, host_client):
    operator = OrganizationFactory(kind="operator", slug="ops")
    MembershipFactory(user=host, organization=operator, role=Role.OWNER)
    garage = make_facility(operator)

    assert host_client.get(detail(garage.pk)).status_code == 404
    assert host_client.get(LISTINGS).json()["count"] == 0


# ---------------------------------------------------------------------------- PATCH


def test_patch_updates_facility_spot_rule_and_pass(host_client, listing):
    hours = {"always_open": False, "weekly": {"5": [["00:00", "24:00"]], "6": [["00:00", "24:00"]]}}

    response = host_client.patch(
        detail(listing["id"]),
        {
            "title": "Covered driveway",
            "city": "Round Rock",
            "vehicle_size": "xlarge",
            "hourly_rate": 400,
            "daily_rate": 2500,
            "monthly_rate": 18000,
            "amenities": {"is_covered": True, "has_ev_charging": False},
            "weekly_availability": hours,
            "is_published": False,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["title"], body["city"], body["vehicle_size"]) == ("Covered driveway", "Round Rock", "xlarge")
    assert (body["hourly_rate"], body["daily_rate"], body["monthly_rate"]) == (400, 2500, 18000)
    # amenity keys not sent keep their value
    assert body["amenities"] == {
        "is_covered": True,
        "has_ev_charging": False,
        "has_security": False,
        "has_lighting": True,
        "is_accessible": False,
    }
    assert body["is_published"] is False
    facility = Facility.objects.get(pk=listing["id"])
    assert (facility.name, facility.city, facility.operating_hours, facility.is_published) == (
        "Covered driveway",
        "Round Rock",
        hours,
        False,
    )
    assert (facility.is_covered, facility.has_ev_charging, facility.has_lighting) == (True, False, True)
    spot = Spot.objects.get(pk=listing["spot_id"])
    assert (spot.size, spot.has_ev_charger, spot.ev_charger_status, spot.is_covered) == ("xlarge", False, "", True)
    rule = PricingRule.objects.get()  # updated in place, not replaced
    assert rule.config == {"rate": 400, "increment_minutes": 60, "modifiers": {"daily_max": 2500}}
    product = PassProduct.objects.get()
    assert (product.price, product.is_active) == (18000, True)
    assert host_client.get(detail(listing["id"])).json() == body


def test_patch_daily_rate_null_removes_the_cap(host_client, listing):
    response = host_client.patch(detail(listing["id"]), {"daily_rate": None}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["daily_rate"] is None
    assert PricingRule.objects.get().config == {"rate": 300, "increment_minutes": 60}


def test_patch_monthly_rate_null_deactivates_then_a_price_reactivates(host_client, listing):
    product = PassProduct.objects.get()

    off = host_client.patch(detail(listing["id"]), {"monthly_rate": None}, format="json")

    assert off.status_code == 200, off.json()
    assert off.json()["monthly_rate"] is None
    product.refresh_from_db()
    assert (product.is_active, product.price) == (False, 15000)

    on = host_client.patch(detail(listing["id"]), {"monthly_rate": 12000}, format="json")

    assert on.json()["monthly_rate"] == 12000
    assert PassProduct.objects.get().pk == product.pk
    product.refresh_from_db()
    assert (product.is_active, product.price) == (True, 12000)


def test_patch_monthly_rate_creates_the_pass_product(host_client):
    created = host_client.post(LISTINGS, driveway(monthly_rate=...), format="json").json()

    response = host_client.patch(detail(created["id"]), {"monthly_rate": 9000}, format="json")

    assert response.json()["monthly_rate"] == 9000
    product = PassProduct.objects.get()
    assert (product.facility_id, product.period, product.price) == (created["id"], "monthly", 9000)


def test_patch_hourly_rate_above_the_daily_cap_is_400(host_client, listing):
    before = snapshot(listing["id"])

    response = host_client.patch(detail(listing["id"]), {"hourly_rate": 2500}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "hourly_rate"
    assert response.json()["errors"][0]["code"] == "daily_rate_below_hourly_rate"
    assert snapshot(listing["id"]) == before


def test_patch_with_a_bad_daily_rate_changes_nothing(host_client, listing):
    before = snapshot(listing["id"])

    response = host_client.patch(
        detail(listing["id"]),
        {
            "title": "Renamed",
            "vehicle_size": "small",
            "amenities": {"is_covered": True},
            "monthly_rate": 1,
            "daily_rate": 299,  # below the stored hourly rate (300): only the service can know
        },
        format="json",
    )

    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["daily_rate"]
    assert snapshot(listing["id"]) == before


def test_patch_is_one_transaction_when_a_late_write_fails(host_client, listing, monkeypatch):
    """The rule is written last: its failure rolls back the facility, spot and pass product writes."""
    before = snapshot(listing["id"])

    def fail(**kwargs):
        raise ApplicationError("Invalid config.", code="invalid_pricing_config", attr="config.rate")

    monkeypatch.setattr(listings.services, "rule_update", fail)

    response = host_client.patch(
        detail(listing["id"]),
        {"title": "Renamed", "vehicle_size": "small", "monthly_rate": 1, "hourly_rate": 500},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "hourly_rate"
    assert snapshot(listing["id"]) == before


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"timezone": "Europe/Nowhere"}, "timezone"),
        ({"hourly_rate": None}, "hourly_rate"),
        ({"vehicle_size": "huge"}, "vehicle_size"),
        ({"weekly_availability": {"always_open": "yes"}}, "weekly_availability"),
        ({"daily_rate": 100, "hourly_rate": 200}, "daily_rate"),
    ],
)
def test_patch_validation_errors_name_the_field(host_client, listing, body, attr):
    before = snapshot(listing["id"])

    response = host_client.patch(detail(listing["id"]), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == attr
    assert snapshot(listing["id"]) == before


def test_a_facility_without_listing_parts_gets_them_on_patch(host, host_client):
    """A host organization's facility made through the inventory API is a listing too; PATCHing rates
    or a size creates the missing rule and spot."""
    organization = OrganizationFactory(kind="host", slug="hand-made")
    MembershipFactory(user=host, organization=organization, role=Role.OWNER)
    facility = make_facility(organization, name="Hand made")

    bare = host_client.get(detail(facility.pk)).json()
    assert (bare["spot_id"], bare["hourly_rate"], bare["vehicle_size"]) == (None, None, None)
    assert (
        host_client.patch(detail(facility.pk), {"daily_rate": 900}, format="json").json()["errors"][0]["attr"]
        == "hourly_rate"
    )

    response = host_client.patch(detail(facility.pk), {"hourly_rate": 250, "vehicle_size": "small"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["hourly_rate"], response.json()["vehicle_size"]) == (250, "small")
    spot = Spot.objects.get(facility=facility)
    assert (spot.code, spot.zone.name, spot.size) == ("1", "Main", "small")


# ---------------------------------------------------------------------------- list


def test_list_is_paginated_with_a_fixed_query_count(host_client):
    host_client.post(LISTINGS, driveway(), format="json")
    with CaptureQueriesContext(connection) as one:
        first = host_client.get(LISTINGS)
    for n in range(3):
        host_client.post(LISTINGS, driveway(title=f"Spot {n}"), format="json")

    with CaptureQueriesContext(connection) as four:
        response = host_client.get(LISTINGS, {"page_size": 2})

    assert first.json()["count"] == 1
    assert response.json()["count"] == 4
    assert len(response.json()["results"]) == 2
    assert response.json()["next"] is not None
    assert len(four) == len(one)


# ---------------------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_concurrent_first_listings_create_one_host_organization():
    user = UserFactory(email="racer@example.com", first_name="Rae")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    data = {**driveway(), "latitude": Decimal("30.2672"), "longitude": Decimal("-97.7431")}

    def create(n):
        try:
            barrier.wait(timeout=10)
            listings.listing_create(actor=user, data={**data, "title": f"Space {n}"})
            outcomes.append("created")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == ["created"] * 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_organization WHERE kind = 'host'")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT count(DISTINCT organization_id), count(*) FROM parking_facility")
        assert cursor.fetchone() == (1, 4)
