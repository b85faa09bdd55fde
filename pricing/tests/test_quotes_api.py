"""Quotes through the API: fee table, precedence, passes, promo codes, expiry, errors."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from pricing import services
from pricing.models import Discount, FeePolicy, Pass, PassProduct, PassStatus, Quote
from vehicles.tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
QUOTE = "/api/v1/pricing/quote/"


def _window(hours, *, day=10, start_hour=9):
    start = datetime(2030, 6, day, start_hour, 0, tzinfo=NY)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def _quote(client, facility, hours, **extra):
    start, end = _window(hours)
    body = {"facility": facility.pk, "vehicle_type": "standard", "start": start, "end": end, **extra}
    return client.post(QUOTE, body, format="json")


@pytest.mark.parametrize(
    ("hours", "parking", "total"),
    [(1, 1000, 1150), (2, 2000, 2250), (4, 4000, 4450), (5, 5000, 5550), (10, 10000, 11050)],
)
def test_seed_fee_table(api_client, facility, hourly_rule, hours, parking, total):
    response = _quote(api_client, facility, hours)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["parking_amount"] == parking
    assert body["total"] == total
    assert body["owner_payout"] == parking
    assert body["platform_revenue"] == total - parking
    assert body["service_fee"] + body["transaction_fee"] == total - parking
    assert body["applied_rule"] == "Standard hourly"
    assert body["currency"] == "USD"


def test_four_hours_itemised_and_stored(api_client, facility, hourly_rule):
    response = _quote(api_client, facility, 4)

    body = response.json()
    assert (body["parking_amount"], body["service_fee"], body["transaction_fee"], body["total"]) == (
        4000,
        400,
        50,
        4450,
    )
    assert (body["owner_payout"], body["platform_revenue"]) == (4000, 450)
    assert body["duration_minutes"] == 240
    assert sum(item["amount"] for item in body["line_items"]) == 4000
    assert body["explanation"]
    assert body["subscription_used"] is False
    stored = Quote.objects.get(pk=body["id"])
    assert stored.total == 4450
    assert timedelta(minutes=14) < stored.expires_at - timezone.now() <= timedelta(minutes=15)


def test_fee_policy_per_organization(api_client, facility, hourly_rule):
    FeePolicy.objects.create(organization=facility.organization, service_fee_percent="5.00", transaction_fee=0)

    body = _quote(api_client, facility, 4).json()

    assert (body["service_fee"], body["transaction_fee"], body["total"]) == (200, 0, 4200)


def test_no_rule_is_409_never_zero(api_client, facility):
    response = _quote(api_client, facility, 2)

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "no_pricing_rule"
    assert not Quote.objects.exists()


def test_most_specific_rule_wins_then_priority_then_newest(api_client, facility, zone, spot, hourly_rule):
    services.rule_create(
        facility=facility, data={"name": "High priority", "strategy": "flat", "config": {"amount": 700}, "priority": 5}
    )
    start, end = _window(2)
    facility_quote = api_client.post(
        QUOTE, {"facility": facility.pk, "vehicle_type": "standard", "start": start, "end": end}, format="json"
    ).json()
    services.rule_create(
        facility=facility, zone=zone, data={"name": "Zone", "strategy": "flat", "config": {"amount": 900}}
    )
    services.rule_create(
        facility=facility, spot=spot, data={"name": "Spot", "strategy": "flat", "config": {"amount": 1100}}
    )
    spot_quote = api_client.post(
        QUOTE, {"spot": spot.pk, "vehicle_type": "standard", "start": start, "end": end}, format="json"
    ).json()
    services.rule_create(
        facility=facility, spot=spot, data={"name": "Spot newer", "strategy": "flat", "config": {"amount": 1200}}
    )
    newest = api_client.post(
        QUOTE, {"spot": spot.pk, "vehicle_type": "standard", "start": start, "end": end}, format="json"
    )

    assert facility_quote["applied_rule"] == "High priority"
    assert facility_quote["parking_amount"] == 700
    assert spot_quote["applied_rule"] == "Spot"
    assert newest.json()["applied_rule"] == "Spot newer"


def test_vehicle_specific_rule(api_client, facility, hourly_rule):
    services.rule_create(
        facility=facility,
        data={
            "name": "Bikes",
            "strategy": "hourly",
            "config": {"rate": 300, "increment_minutes": 60},
            "vehicle_types": ["motorcycle"],
            "priority": 1,
        },
    )

    bike = _quote(api_client, facility, 2, vehicle_type="motorcycle").json()
    car = _quote(api_client, facility, 2).json()

    assert (bike["applied_rule"], bike["parking_amount"]) == ("Bikes", 600)
    assert (car["applied_rule"], car["parking_amount"]) == ("Standard hourly", 2000)


def test_expired_or_future_rules_do_not_apply(api_client, facility):
    services.rule_create(
        facility=facility,
        data={
            "name": "Old",
            "strategy": "flat",
            "config": {"amount": 100},
            "valid_until": datetime(2020, 1, 1, tzinfo=NY),
        },
    )

    assert _quote(api_client, facility, 2).status_code == 409


class TestPasses:
    @pytest.fixture
    def driver(self):
        return UserFactory(email="driver@example.com")

    def _pass(self, facility, driver, **product_fields):
        product = PassProduct.objects.create(
            organization=facility.organization,
            facility=facility,
            name="Commuter",
            period="monthly",
            price=9000,
            **product_fields,
        )
        return Pass.objects.create(
            product=product,
            driver=driver,
            valid_from=datetime(2030, 6, 1, tzinfo=NY),
            valid_until=datetime(2030, 7, 1, tzinfo=NY),
            status=PassStatus.ACTIVE,
        )

    def test_fully_covered_window_is_free(self, auth_client, facility, hourly_rule, driver):
        self._pass(facility, driver)

        body = _quote(auth_client(driver), facility, 4).json()

        assert body["subscription_used"] is True
        assert (body["parking_amount"], body["total"]) == (0, 0)

    def test_partly_covered_window_bills_the_rest(self, auth_client, facility, hourly_rule, driver):
        from datetime import time

        self._pass(facility, driver, valid_start_time=time(7, 0), valid_end_time=time(11, 0))

        body = _quote(auth_client(driver), facility, 4).json()  # 09:00-13:00 local, pass until 11:00

        assert body["subscription_used"] is True
        assert body["parking_amount"] == 2000

    def test_someone_elses_pass_does_not_count(self, auth_client, facility, hourly_rule, driver):
        self._pass(facility, UserFactory(email="x@example.com"))

        body = _quote(auth_client(driver), facility, 4).json()

        assert (body["subscription_used"], body["parking_amount"]) == (False, 4000)


class TestPromoCodes:
    def _discount(self, facility, **fields):
        data = {"code": "SUMMER", "kind": "percent", "percent": 25}
        data.update(fields)
        return services.discount_create(organization_id=facility.organization_id, data=data, facilities=[])

    def test_percent_code_reduces_parking_and_fee(self, api_client, facility, hourly_rule):
        self._discount(facility)

        body = _quote(api_client, facility, 4, promo_code="summer").json()

        assert (body["parking_amount"], body["discount_amount"]) == (4000, 1000)
        assert (body["service_fee"], body["total"], body["owner_payout"]) == (300, 3350, 3000)
        assert body["promo_code"] == "SUMMER"

    def test_unknown_code_is_400_on_promo_code(self, api_client, facility, hourly_rule):
        response = _quote(api_client, facility, 4, promo_code="NOPE")

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "promo_code"
        assert not Quote.objects.exists()

    def test_used_up_code_is_refused(self, api_client, facility, hourly_rule):
        discount = self._discount(facility, max_redemptions=1)
        Discount.objects.filter(pk=discount.pk).update(redemption_count=1)

        response = _quote(api_client, facility, 4, promo_code="SUMMER")

        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "invalid_promo_code"

    def test_min_duration(self, api_client, facility, hourly_rule):
        self._discount(facility, min_duration_minutes=300)

        assert _quote(api_client, facility, 4, promo_code="SUMMER").status_code == 400
        assert _quote(api_client, facility, 5, promo_code="SUMMER").status_code == 201


class TestQuoteInput:
    def test_vehicle_sets_the_type_and_must_be_mine(self, auth_client, facility, hourly_rule):
        driver = UserFactory()
        mine = VehicleFactory(owner=driver, vehicle_type="van")
        theirs = VehicleFactory(owner=UserFactory(), vehicle_type="standard")
        start, end = _window(2)

        ok = auth_client(driver).post(
            QUOTE, {"facility": facility.pk, "vehicle": str(mine.pk), "start": start, "end": end}, format="json"
        )
        bad = auth_client(driver).post(
            QUOTE, {"facility": facility.pk, "vehicle": str(theirs.pk), "start": start, "end": end}, format="json"
        )

        assert ok.status_code == 201
        assert ok.json()["vehicle_type"] == "van"
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["attr"] == "vehicle"

    @pytest.mark.parametrize(
        ("body", "attr"),
        [
            ({"vehicle_type": "standard", "start": "2030-06-10T09:00:00Z", "end": "2030-06-10T10:00:00Z"}, "facility"),
            ({"facility": 1, "start": "2030-06-10T09:00:00Z", "end": "2030-06-10T10:00:00Z"}, "vehicle_type"),
            (
                {
                    "facility": 1,
                    "vehicle_type": "standard",
                    "start": "2030-06-10T09:00:00",
                    "end": "2030-06-10T10:00:00Z",
                },
                "start",
            ),
        ],
    )
    def test_bad_input_names_the_field(self, api_client, body, attr):
        response = api_client.post(QUOTE, body, format="json")

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == attr

    def test_window_outside_policy_is_400(self, api_client, facility, hourly_rule):
        start = (timezone.now() - timedelta(days=1)).isoformat()
        end = timezone.now().isoformat()

        response = api_client.post(
            QUOTE, {"facility": facility.pk, "vehicle_type": "standard", "start": start, "end": end}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "start"

    def test_unpublished_facility_is_404(self, api_client, facility, hourly_rule):
        facility.is_published = False
        facility.save()

        assert _quote(api_client, facility, 2).status_code == 404


def test_search_results_carry_the_price(api_client, facility, zone, spot, hourly_rule):
    start, end = _window(4)

    facilities = api_client.get("/api/v1/facilities/", {"start": start, "end": end, "vehicle_type": "standard"}).json()
    spots = api_client.get(
        "/api/v1/spots/available/", {"facility": facility.pk, "start": start, "end": end, "vehicle_type": "standard"}
    ).json()

    assert facilities["results"][0]["price"] == {"total": 4450, "parking_amount": 4000, "currency": "USD"}
    assert spots["results"][0]["price"] == {"total": 4450, "parking_amount": 4000, "currency": "USD"}


def test_search_ordered_by_price(api_client, org, hourly_rule, facility):
    from parking.tests.factories import make_facility

    cheap = make_facility(org, name="Cheap")
    services.rule_create(facility=cheap, data={"name": "Cheap", "strategy": "flat", "config": {"amount": 500}})
    make_facility(org, name="Unpriced")
    start, end = _window(4)

    results = api_client.get("/api/v1/facilities/", {"start": start, "end": end, "ordering": "price"}).json()["results"]

    assert [f["name"] for f in results] == ["Cheap", "Garage", "Unpriced"]
    assert results[2]["price"]["total"] is None
