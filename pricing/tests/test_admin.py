"""The pricing back office (pricing/admin.py): pages render, the rule editor validates and previews,
staff see only their organizations' rows, fee policies are for platform admins only."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from parking.tests.factories import make_facility
from pricing import services
from pricing.models import Discount, FeePolicy, Pass, PassProduct, PricingRule, Quote

pytestmark = pytest.mark.django_db

ADMIN = "/admin/pricing"


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def desk_user(org):
    """A back-office user (is_staff, not superuser) with view and change permissions on every pricing
    model, staff member of ``org``."""
    user = UserFactory(email="desk@example.com", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="pricing", codename__regex=r"^(view|change)_")
    )
    MembershipFactory(user=user, organization=org, role=Role.STAFF)
    return user


@pytest.fixture
def desk_client(desk_user):
    client = Client()
    client.force_login(desk_user)
    return client


@pytest.fixture
def other_facility(other_org):
    return make_facility(other_org, name="Beta Garage")


@pytest.fixture
def other_rule(other_facility):
    return services.rule_create(
        facility=other_facility,
        data={"name": "Beta hourly", "strategy": "hourly", "config": {"rate": 700, "increment_minutes": 60}},
    )


@pytest.fixture
def pricing_rows(facility, hourly_rule, owner):
    """One of each pricing object in ``org``."""
    product = services.pass_product_create(
        facility=facility, data={"name": "Commuter", "period": "monthly", "price": 15000}
    )
    now = timezone.now()
    driver_pass = Pass.objects.create(
        product=product, driver=owner, valid_from=now, valid_until=now + timedelta(days=30)
    )
    discount = services.discount_create(
        organization_id=facility.organization_id,
        data={"code": "SPRING", "kind": "percent", "percent": 10},
        facilities=[],
    )
    policy = FeePolicy.objects.create(organization=facility.organization)
    start = now + timedelta(days=1)
    quote = services.quote_create(
        services.QuoteRequest(facility=facility, start=start, end=start + timedelta(hours=4), vehicle_type="standard")
    )
    return {
        "pricingrule": hourly_rule,
        "passproduct": product,
        "pass": driver_pass,
        "discount": discount,
        "feepolicy": policy,
        "quote": quote,
    }


def rule_form(facility, **overrides) -> dict:
    return {
        "facility": facility.pk,
        "zone": "",
        "spot": "",
        "name": "Evening flat",
        "strategy": "flat",
        "config": json.dumps({"amount": 1500}),
        "vehicle_types": "",
        "spot_categories": "",
        "priority": 0,
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "is_active": "on",
        **overrides,
    }


# ---------------------------------------------------------------------------- pages render


@pytest.mark.parametrize("model", ["pricingrule", "passproduct", "pass", "discount", "feepolicy", "quote"])
def test_changelist_and_change_pages_render_for_a_superuser(superuser_client, pricing_rows, model):
    assert superuser_client.get(f"{ADMIN}/{model}/").status_code == 200
    assert superuser_client.get(f"{ADMIN}/{model}/{pricing_rows[model].pk}/change/").status_code == 200


@pytest.mark.parametrize("model", ["pricingrule", "passproduct", "pass", "discount", "feepolicy"])
def test_add_pages_render_for_a_superuser(superuser_client, model):
    assert superuser_client.get(f"{ADMIN}/{model}/add/").status_code == 200


def test_quotes_are_read_only_even_for_a_superuser(superuser_client, pricing_rows):
    quote = pricing_rows["quote"]

    assert superuser_client.get(f"{ADMIN}/quote/add/").status_code == 403
    response = superuser_client.post(f"{ADMIN}/quote/{quote.pk}/change/", {"total": 1})
    assert response.status_code == 403
    assert Quote.objects.get(pk=quote.pk).total == quote.total


@pytest.mark.parametrize("model", ["pricingrule", "passproduct", "pass", "discount"])
def test_changelist_search_works(superuser_client, pricing_rows, model):
    assert superuser_client.get(f"{ADMIN}/{model}/", {"q": "a"}).status_code == 200


# ---------------------------------------------------------------------------- rule editor


def test_rule_change_page_previews_four_hours(superuser_client, hourly_rule):
    response = superuser_client.get(f"{ADMIN}/pricingrule/{hourly_rule.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    # 4 h at 1000/h: parking 4000 + 10 % service fee + 50 transaction fee
    assert "Parking 4000 + service fee 400 + transaction fee 50 = <b>4450 USD</b>" in html


def test_rule_preview_reports_an_unpriceable_rule(superuser_client, facility):
    rule = services.rule_create(
        facility=facility,
        data={"name": "Short only", "strategy": "slab", "config": {"slabs": [{"max_hours": 1, "price": 500}]}},
    )

    response = superuser_client.get(f"{ADMIN}/pricingrule/{rule.pk}/change/")

    assert response.status_code == 200
    assert "Cannot price:" in response.content.decode()


def test_rule_preview_escapes_window_names(superuser_client, facility):
    rule = services.rule_create(
        facility=facility,
        data={
            "name": "Peak",
            "strategy": "time_of_day",
            "config": {
                "base": {"strategy": "hourly", "config": {"rate": 1000}},
                "windows": [
                    {
                        "name": "<b id=owned>x</b>",
                        "days": [0, 1, 2, 3, 4, 5, 6],
                        "start": "00:00",
                        "end": "23:59",
                        "multiplier": 2,
                    },
                ],
            },
        },
    )

    html = superuser_client.get(f"{ADMIN}/pricingrule/{rule.pk}/change/").content.decode()

    assert "&lt;b id=owned&gt;" in html
    assert "<b id=owned>" not in html


def test_rule_add_form_creates_a_rule_in_the_facility_organization(superuser_client, facility):
    response = superuser_client.post(f"{ADMIN}/pricingrule/add/", rule_form(facility))

    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = PricingRule.objects.get()
    assert (rule.name, rule.strategy, rule.config) == ("Evening flat", "flat", {"amount": 1500})
    assert rule.organization_id == facility.organization_id


@pytest.mark.parametrize(
    ("strategy", "config", "path"),
    [
        ("hourly", {"rate": -1}, "config.rate"),
        ("hourly", {"rate": 1000, "bogus": 1}, "config.bogus"),
        ("slab", {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 3, "price": 400}]}, "config.slabs[1]"),
        ("flat", {"amount": "15"}, "config.amount"),
    ],
)
def test_rule_add_form_shows_an_invalid_config_on_the_config_field(superuser_client, facility, strategy, config, path):
    response = superuser_client.post(
        f"{ADMIN}/pricingrule/add/", rule_form(facility, strategy=strategy, config=json.dumps(config))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["config"]
    assert errors["config"][0].startswith(path)
    assert not PricingRule.objects.exists()


def test_rule_add_form_refuses_a_zone_of_another_facility(superuser_client, facility, other_facility):
    from parking.tests.factories import make_zone

    other_zone = make_zone(other_facility)

    response = superuser_client.post(f"{ADMIN}/pricingrule/add/", rule_form(facility, zone=other_zone.pk))

    assert response.status_code == 200
    assert "zone" in response.context["adminform"].form.errors
    assert not PricingRule.objects.exists()


# ---------------------------------------------------------------------------- staff scoping


def test_staff_see_only_their_organizations_rules(desk_client, hourly_rule, other_rule):
    response = desk_client.get(f"{ADMIN}/pricingrule/")

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [hourly_rule]
    assert desk_client.get(f"{ADMIN}/pricingrule/{hourly_rule.pk}/change/").status_code == 200
    # Another organization's rule does not exist for them (the admin redirects with a message).
    assert desk_client.get(f"{ADMIN}/pricingrule/{other_rule.pk}/change/").status_code == 302


@pytest.mark.parametrize("model", ["passproduct", "pass", "discount", "quote"])
def test_staff_see_only_their_organizations_rows(desk_client, pricing_rows, other_facility, model):
    other_product = services.pass_product_create(
        facility=other_facility, data={"name": "Beta monthly", "period": "monthly", "price": 9000}
    )
    now = timezone.now()
    others = {
        "passproduct": other_product,
        "pass": Pass.objects.create(
            product=other_product,
            driver=UserFactory(email="beta-driver@example.com"),
            valid_from=now,
            valid_until=now + timedelta(days=30),
        ),
        "discount": services.discount_create(
            organization_id=other_facility.organization_id,
            data={"code": "BETA", "kind": "fixed", "amount": 100},
            facilities=[],
        ),
        "quote": Quote.objects.create(
            organization_id=other_facility.organization_id,
            facility=other_facility,
            vehicle_type="standard",
            start=now,
            end=now + timedelta(hours=1),
            currency="USD",
            parking_amount=1000,
            service_fee=100,
            transaction_fee=50,
            total=1150,
            owner_payout=1000,
            platform_revenue=150,
            duration_minutes=60,
            applied_rule_name="x",
            explanation="x",
            expires_at=now,
        ),
    }

    response = desk_client.get(f"{ADMIN}/{model}/")

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [pricing_rows[model]]
    assert desk_client.get(f"{ADMIN}/{model}/{others[model].pk}/change/").status_code == 302


def test_staff_can_change_their_rule(desk_client, hourly_rule):
    response = desk_client.post(
        f"{ADMIN}/pricingrule/{hourly_rule.pk}/change/",
        rule_form(
            hourly_rule.facility,
            name="Standard hourly",
            strategy="hourly",
            config=json.dumps({"rate": 1200, "increment_minutes": 60}),
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    hourly_rule.refresh_from_db()
    assert hourly_rule.config == {"rate": 1200, "increment_minutes": 60}


def test_staff_cannot_move_a_rule_to_another_organizations_facility(desk_client, hourly_rule, other_facility):
    before = (hourly_rule.facility_id, hourly_rule.organization_id)

    response = desk_client.post(
        f"{ADMIN}/pricingrule/{hourly_rule.pk}/change/",
        rule_form(
            other_facility,
            name="Standard hourly",
            strategy="hourly",
            config=json.dumps({"rate": 1000, "increment_minutes": 60}),
        ),
    )

    hourly_rule.refresh_from_db()
    # The scope is read-only once the rule exists: the posted facility is ignored.
    assert (hourly_rule.facility_id, hourly_rule.organization_id) == before
    assert response.status_code == 302


def test_staff_cannot_create_a_rule_on_another_organizations_facility(desk_user, desk_client, other_facility):
    from pricing.models import PricingRule

    desk_user.user_permissions.add(
        Permission.objects.get(content_type__app_label="pricing", codename="add_pricingrule")
    )
    response = desk_client.post(
        f"{ADMIN}/pricingrule/add/",
        rule_form(other_facility, name="Sneaky", strategy="flat", config=json.dumps({"amount": 100})),
    )

    assert response.status_code == 200
    assert "facility" in response.context["adminform"].form.errors
    assert not PricingRule.objects.filter(name="Sneaky").exists()


# ---------------------------------------------------------------------------- fee policies


def test_staff_can_view_but_not_change_fee_policies(desk_client, org):
    policy = FeePolicy.objects.create(organization=org)
    url = f"{ADMIN}/feepolicy/{policy.pk}/change/"

    assert desk_client.get(f"{ADMIN}/feepolicy/").status_code == 200
    page = desk_client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    response = desk_client.post(url, {"organization": org.pk, "service_fee_percent": "0", "transaction_fee": 0})

    assert response.status_code == 403
    policy.refresh_from_db()
    assert (str(policy.service_fee_percent), policy.transaction_fee) == ("10.00", 50)
    assert desk_client.get(f"{ADMIN}/feepolicy/add/").status_code == 403


def test_superuser_changes_a_fee_policy(superuser_client, org):
    policy = FeePolicy.objects.create(organization=org)

    response = superuser_client.post(
        f"{ADMIN}/feepolicy/{policy.pk}/change/",
        {"organization": org.pk, "service_fee_percent": "5.00", "transaction_fee": 0},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert (str(policy.service_fee_percent), policy.transaction_fee) == ("5.00", 0)


# ---------------------------------------------------------------------------- discounts


def test_discount_changelist_shows_redemption_count(superuser_client, facility, owner):
    discount = services.discount_create(
        organization_id=facility.organization_id,
        data={"code": "TWICE", "kind": "fixed", "amount": 100, "max_redemptions": 5},
        facilities=[],
    )
    services.discount_redeem(discount_id=discount.pk, user=owner, reference="PKM-1", amount=100)
    services.discount_redeem(discount_id=discount.pk, user=owner, reference="PKM-2", amount=100)

    response = superuser_client.get(f"{ADMIN}/discount/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "column-redemption_count" in html
    assert '<td class="field-redemption_count">2</td>' in html
    assert Discount.objects.get().redemption_count == 2
    change = superuser_client.get(f"{ADMIN}/discount/{discount.pk}/change/")
    assert change.status_code == 200
    assert "PKM-1" in change.content.decode()  # the redemptions inline
    assert "PKM-2" in change.content.decode()


def test_pass_product_add_form_sets_the_organization(superuser_client, facility):
    response = superuser_client.post(
        f"{ADMIN}/passproduct/add/",
        {
            "facility": facility.pk,
            "name": "Weekend",
            "period": "weekly",
            "price": 4000,
            "vehicle_types": "",
            "valid_weekdays": "5,6",
            "valid_start_time": "",
            "valid_end_time": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    product = PassProduct.objects.get()
    assert (product.organization_id, product.valid_weekdays) == (facility.organization_id, [5, 6])
