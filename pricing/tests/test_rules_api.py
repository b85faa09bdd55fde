import pytest

from pricing.models import PricingRule

pytestmark = pytest.mark.django_db

RULES = "/api/v1/pricing/rules/"


def test_owner_creates_a_slab_rule(auth_client, owner, facility):
    response = auth_client(owner).post(
        RULES,
        {
            "facility": facility.pk,
            "name": "Slabs",
            "strategy": "slab",
            "config": {
                "slabs": [
                    {"max_hours": 1, "price": 500},
                    {"max_hours": 3, "price": 1200},
                    {"max_hours": None, "price": 3000},
                ]
            },
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["scope"] == "facility"
    assert PricingRule.objects.get().organization_id == facility.organization_id


def test_decreasing_slab_is_rejected_with_the_path(auth_client, owner, facility):
    response = auth_client(owner).post(
        RULES,
        {
            "facility": facility.pk,
            "name": "Bad",
            "strategy": "slab",
            "config": {"slabs": [{"max_hours": 1, "price": 500}, {"max_hours": 3, "price": 400}]},
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"].startswith("config.slabs[1]")
    assert not PricingRule.objects.exists()


def test_unknown_key_is_rejected_with_the_path(auth_client, owner, facility):
    response = auth_client(owner).post(
        RULES,
        {"facility": facility.pk, "name": "Bad", "strategy": "hourly", "config": {"rate": 1000, "bogus": 1}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"].startswith("config")
    assert not PricingRule.objects.exists()


def test_staff_cannot_write_rules(auth_client, staff, facility):
    response = auth_client(staff).post(
        RULES, {"facility": facility.pk, "name": "X", "strategy": "flat", "config": {"amount": 100}}, format="json"
    )

    assert response.status_code == 403  # a member, but staff may not set prices
    assert not PricingRule.objects.exists()


def test_other_organization_rules_are_404(auth_client, other_owner, hourly_rule):
    client = auth_client(other_owner)

    assert client.get(RULES).json()["count"] == 0
    assert client.get(f"{RULES}{hourly_rule.pk}/").status_code == 404
    assert client.patch(f"{RULES}{hourly_rule.pk}/", {"name": "X"}, format="json").status_code == 404
    assert client.delete(f"{RULES}{hourly_rule.pk}/").status_code == 404
    hourly_rule.refresh_from_db()
    assert hourly_rule.name == "Standard hourly"


def test_update_revalidates_config(auth_client, owner, hourly_rule):
    response = auth_client(owner).patch(f"{RULES}{hourly_rule.pk}/", {"config": {"rate": -5}}, format="json")

    assert response.status_code == 400
    hourly_rule.refresh_from_db()
    assert hourly_rule.config["rate"] == 1000


def test_demo_prices_are_valid_and_idempotent():
    import io

    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    assert PricingRule.objects.count() == 3
    assert set(PricingRule.objects.values_list("facility__slug", flat=True)) == {
        "mission-street-garage",
        "broadway-lot-oakland",
        "mg-road-driveway",
    }
