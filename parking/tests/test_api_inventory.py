"""Owner/staff inventory API: tenant isolation (404, nothing changed), role rules, atomic bulk ops."""

import pytest

from parking.models import Facility, Spot, SpotBlock, Zone

from .factories import make_spot, make_zone

pytestmark = pytest.mark.django_db

FACILITY_BODY = {
    "name": "Harbor Lot",
    "address_line": "9 Pier Rd",
    "city": "Oakland",
    "country": "us",
    "latitude": "37.795000",
    "longitude": "-122.279000",
    "timezone": "America/Los_Angeles",
}


class TestFacilityWrites:
    def test_manager_creates_facility_with_org_currency(self, auth_client, manager_a, org_a):
        response = auth_client(manager_a).post(
            "/api/v1/facilities/", {**FACILITY_BODY, "organization": str(org_a.pk)}, format="json"
        )

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["slug"] == "harbor-lot"
        assert body["currency"] == "USD"
        assert body["country"] == "US"
        assert body["organization"] == str(org_a.pk)
        assert body["is_published"] is False
        assert body["operating_hours"] == {"always_open": True}

    def test_staff_cannot_create_facility(self, auth_client, staff_a, org_a):
        response = auth_client(staff_a).post(
            "/api/v1/facilities/", {**FACILITY_BODY, "organization": str(org_a.pk)}, format="json"
        )

        assert response.status_code == 403
        assert not Facility.objects.exists()

    def test_cannot_create_in_another_organization(self, auth_client, owner_a, org_b):
        response = auth_client(owner_a).post(
            "/api/v1/facilities/", {**FACILITY_BODY, "organization": str(org_b.pk)}, format="json"
        )

        assert response.status_code == 404
        assert not Facility.objects.exists()

    @pytest.mark.parametrize(
        ("override", "attr"),
        [
            ({"latitude": "91"}, "latitude"),
            ({"longitude": "-180.5"}, "longitude"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"operating_hours": {"always_open": False, "weekly": {"0": [["20:00", "08:00"]]}}}, "operating_hours"),
            ({"operating_hours": {"always_open": False, "weekly": {"9": []}}}, "operating_hours"),
            ({"min_booking_minutes": 600, "max_booking_minutes": 60}, "min_booking_minutes"),
            ({"no_show_fee_percent": 101}, "no_show_fee_percent"),
            ({"kind": "castle"}, "kind"),
        ],
    )
    def test_invalid_input_is_400_naming_the_field(self, auth_client, owner_a, org_a, override, attr):
        response = auth_client(owner_a).post(
            "/api/v1/facilities/", {**FACILITY_BODY, "organization": str(org_a.pk), **override}, format="json"
        )

        assert response.status_code == 400
        assert attr in {error["attr"] for error in response.json()["errors"]}
        assert not Facility.objects.exists()

    def test_update_policies(self, auth_client, owner_a, garage_a):
        response = auth_client(owner_a).patch(
            f"/api/v1/facilities/{garage_a.pk}/",
            {"no_show_fee_percent": 50, "free_cancellation_minutes": 120, "is_published": False},
            format="json",
        )

        assert response.status_code == 200
        garage_a.refresh_from_db()
        assert (garage_a.no_show_fee_percent, garage_a.free_cancellation_minutes) == (50, 120)
        assert garage_a.is_published is False

    def test_staff_cannot_change_facility(self, auth_client, staff_a, garage_a):
        response = auth_client(staff_a).patch(f"/api/v1/facilities/{garage_a.pk}/", {"name": "X"}, format="json")

        assert response.status_code == 403
        garage_a.refresh_from_db()
        assert garage_a.name == "Alpha Garage"

    def test_other_org_facility_patch_and_delete_are_404(self, auth_client, owner_b, garage_a):
        client = auth_client(owner_b)

        assert client.patch(f"/api/v1/facilities/{garage_a.pk}/", {"name": "X"}, format="json").status_code == 404
        assert client.delete(f"/api/v1/facilities/{garage_a.pk}/").status_code == 404
        garage_a.refresh_from_db()
        assert garage_a.name == "Alpha Garage"

    def test_unpublished_facility_is_404_to_others_but_visible_to_members(
        self, auth_client, api_client, staff_a, owner_b, garage_a
    ):
        garage_a.is_published = False
        garage_a.save()

        assert api_client.get(f"/api/v1/facilities/{garage_a.pk}/").status_code == 404
        assert auth_client(owner_b).get(f"/api/v1/facilities/{garage_a.pk}/").status_code == 404
        member_view = auth_client(staff_a).get(f"/api/v1/facilities/{garage_a.pk}/")
        assert member_view.status_code == 200
        assert member_view.json()["is_published"] is False

    def test_public_detail_hides_internal_fields_but_shows_policies(self, api_client, garage_a):
        body = api_client.get(f"/api/v1/facilities/{garage_a.pk}/").json()

        assert "is_published" not in body
        assert "organization" not in body
        assert "access_instructions" not in body
        assert body["no_show_fee_percent"] == 100
        assert body["free_cancellation_minutes"] == 60
        assert body["reservation_grace_minutes"] == 15

    def test_delete_facility_removes_zones_and_spots(self, auth_client, owner_a, garage_a, spot_a):
        response = auth_client(owner_a).delete(f"/api/v1/facilities/{garage_a.pk}/")

        assert response.status_code == 204
        assert not Facility.objects.filter(pk=garage_a.pk).exists()
        assert not Spot.objects.exists()

    def test_managed_listing(self, auth_client, staff_a, org_a, garage_a, garage_b):
        garage_a.is_published = False
        garage_a.save()

        response = auth_client(staff_a).get("/api/v1/facilities/", {"mine": "true"})

        assert response.status_code == 200
        assert [f["id"] for f in response.json()["results"]] == [garage_a.pk]
        other = auth_client(staff_a).get("/api/v1/facilities/", {"organization": str(garage_b.organization_id)})
        assert other.status_code == 404


class TestZonesAndSpots:
    def test_zone_crud_and_filter(self, auth_client, manager_a, garage_a, garage_b):
        client = auth_client(manager_a)

        created = client.post("/api/v1/zones/", {"facility": garage_a.pk, "name": "Level 2", "level": 2}, format="json")
        assert created.status_code == 201
        listing = client.get("/api/v1/zones/", {"facility": garage_a.pk})
        assert [z["name"] for z in listing.json()["results"]] == ["Level 2"]
        zone_id = created.json()["id"]
        assert (
            client.patch(f"/api/v1/zones/{zone_id}/", {"display_order": 3}, format="json").json()["display_order"] == 3
        )
        assert client.delete(f"/api/v1/zones/{zone_id}/").status_code == 204
        assert not Zone.objects.filter(pk=zone_id).exists()

    def test_zone_in_other_org_facility_is_400_on_facility(self, auth_client, owner_a, garage_b):
        response = auth_client(owner_a).post(
            "/api/v1/zones/", {"facility": garage_b.pk, "name": "Sneaky"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "facility"
        assert not Zone.objects.filter(name="Sneaky").exists()

    def test_other_org_zone_and_spot_are_404_and_unchanged(self, auth_client, owner_a, garage_b):
        zone = Zone.objects.get(facility=garage_b)
        spot = Spot.objects.get(facility=garage_b)
        client = auth_client(owner_a)

        assert client.get(f"/api/v1/zones/{zone.pk}/").status_code == 404
        assert client.patch(f"/api/v1/zones/{zone.pk}/", {"name": "X"}, format="json").status_code == 404
        assert client.delete(f"/api/v1/zones/{zone.pk}/").status_code == 404
        assert client.patch(f"/api/v1/spots/{spot.pk}/", {"status": "maintenance"}, format="json").status_code == 404
        assert client.delete(f"/api/v1/spots/{spot.pk}/").status_code == 404
        assert client.get("/api/v1/spots/", {"facility": garage_b.pk}).json()["count"] == 0
        zone.refresh_from_db()
        spot.refresh_from_db()
        assert (zone.name, spot.status) == ("Level 1", "active")

    def test_spot_create_with_duplicate_code_is_400(self, auth_client, owner_a, zone_a, spot_a):
        response = auth_client(owner_a).post("/api/v1/spots/", {"zone": zone_a.pk, "code": "A-101"}, format="json")

        assert response.status_code == 400
        assert response.json()["errors"][0] == {
            "code": "duplicate_spot_code",
            "detail": "Spot code 'A-101' is already used in this facility.",
            "attr": "code",
        }

    def test_spot_denormalises_facility_and_organization(self, auth_client, owner_a, zone_a):
        response = auth_client(owner_a).post(
            "/api/v1/spots/",
            {"zone": zone_a.pk, "code": "EV-1", "category": "ev", "has_ev_charger": True},
            format="json",
        )

        assert response.status_code == 201
        spot = Spot.objects.get(code="EV-1")
        assert (spot.facility_id, spot.organization_id) == (zone_a.facility_id, zone_a.organization_id)
        assert spot.ev_charger_status == "available"

    def test_staff_may_change_status_but_not_size(self, auth_client, staff_a, spot_a):
        client = auth_client(staff_a)

        assert client.patch(f"/api/v1/spots/{spot_a.pk}/", {"status": "maintenance"}, format="json").status_code == 200
        assert client.patch(f"/api/v1/spots/{spot_a.pk}/", {"size": "xlarge"}, format="json").status_code == 403
        assert client.delete(f"/api/v1/spots/{spot_a.pk}/").status_code == 403
        spot_a.refresh_from_db()
        assert (spot_a.status, spot_a.size) == ("maintenance", "medium")

    def test_spot_filters(self, auth_client, owner_a, zone_a):
        make_spot(zone_a, "S-1", size="small")
        make_spot(zone_a, "E-1", category="ev", has_ev_charger=True)
        make_spot(zone_a, "M-1", status="maintenance")
        client = auth_client(owner_a)

        def codes(**params):
            return sorted(s["code"] for s in client.get("/api/v1/spots/", params).json()["results"])

        assert codes(size="small") == ["S-1"]
        assert codes(category="ev") == ["E-1"]
        assert codes(status="maintenance") == ["M-1"]
        assert codes(zone=zone_a.pk) == ["E-1", "M-1", "S-1"]


class TestBulk:
    def test_bulk_create_numbered_spots(self, auth_client, owner_a, zone_a):
        response = auth_client(owner_a).post(
            "/api/v1/spots/bulk/",
            {"zone": zone_a.pk, "prefix": "A-", "first_number": 101, "last_number": 150, "size": "large"},
            format="json",
        )

        assert response.status_code == 201
        assert len(response.json()) == 50
        codes = list(Spot.objects.filter(zone=zone_a).order_by("code").values_list("code", flat=True))
        assert codes[0] == "A-101"
        assert codes[-1] == "A-150"
        assert set(Spot.objects.filter(zone=zone_a).values_list("size", flat=True)) == {"large"}

    def test_bulk_create_is_atomic_when_one_code_exists(self, auth_client, owner_a, zone_a):
        make_spot(zone_a, "A-120")

        response = auth_client(owner_a).post(
            "/api/v1/spots/bulk/",
            {"zone": zone_a.pk, "prefix": "A-", "first_number": 101, "last_number": 150},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "duplicate_spot_code"
        assert list(Spot.objects.values_list("code", flat=True)) == ["A-120"]

    def test_bulk_create_refuses_an_invalid_field_for_all(self, auth_client, owner_a, zone_a):
        response = auth_client(owner_a).post(
            "/api/v1/spots/bulk/",
            {"zone": zone_a.pk, "prefix": "A-", "first_number": 1, "last_number": 5, "size": "huge"},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "size"
        assert not Spot.objects.exists()

    def test_bulk_create_is_bounded(self, auth_client, owner_a, zone_a):
        response = auth_client(owner_a).post(
            "/api/v1/spots/bulk/",
            {"zone": zone_a.pk, "prefix": "X", "first_number": 1, "last_number": 501},
            format="json",
        )

        assert response.status_code == 400
        assert not Spot.objects.exists()

    def test_bulk_status_by_staff(self, auth_client, staff_a, zone_a):
        spots = [make_spot(zone_a, f"B-{n}") for n in range(3)]

        response = auth_client(staff_a).post(
            "/api/v1/spots/bulk-status/",
            {"spot_ids": [s.pk for s in spots[:2]], "status": "maintenance"},
            format="json",
        )

        assert response.status_code == 200
        assert response.json()["changed"] == 2
        assert dict(Spot.objects.values_list("code", "status")) == {
            "B-0": "maintenance",
            "B-1": "maintenance",
            "B-2": "active",
        }

    def test_bulk_status_with_a_foreign_spot_changes_nothing(self, auth_client, owner_a, spot_a, garage_b):
        foreign = Spot.objects.get(facility=garage_b)

        response = auth_client(owner_a).post(
            "/api/v1/spots/bulk-status/", {"spot_ids": [spot_a.pk, foreign.pk], "status": "maintenance"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "spot_ids"
        assert set(Spot.objects.values_list("status", flat=True)) == {"active"}


class TestBlocks:
    def test_staff_blocks_a_zone(self, auth_client, staff_a, garage_a, zone_a, spot_a):
        response = auth_client(staff_a).post(
            "/api/v1/spot-blocks/",
            {
                "facility": garage_a.pk,
                "zone": zone_a.pk,
                "start": "2030-01-01T08:00:00Z",
                "end": "2030-01-01T12:00:00Z",
                "reason": "event",
                "note": "Parade",
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["scope"] == "zone"
        assert body["overlapping_bookings"] == []
        assert SpotBlock.objects.get().zone_id == zone_a.pk

    def test_block_window_must_be_ordered_and_aware(self, auth_client, owner_a, garage_a):
        client = auth_client(owner_a)
        base = {"facility": garage_a.pk, "reason": "maintenance"}

        backwards = client.post(
            "/api/v1/spot-blocks/",
            {**base, "start": "2030-01-01T12:00:00Z", "end": "2030-01-01T08:00:00Z"},
            format="json",
        )
        naive = client.post(
            "/api/v1/spot-blocks/",
            {**base, "start": "2030-01-01T08:00:00", "end": "2030-01-01T12:00:00Z"},
            format="json",
        )

        assert backwards.status_code == 400
        assert backwards.json()["errors"][0]["attr"] == "end"
        assert naive.status_code == 400
        assert naive.json()["errors"][0]["attr"] == "start"
        assert not SpotBlock.objects.exists()

    def test_other_org_blocks_are_invisible(self, auth_client, owner_a, owner_b, garage_b):
        block = (
            auth_client(owner_b)
            .post(
                "/api/v1/spot-blocks/",
                {"facility": garage_b.pk, "start": "2030-01-01T08:00:00Z", "end": "2030-01-01T09:00:00Z"},
                format="json",
            )
            .json()
        )
        client = auth_client(owner_a)

        assert client.get("/api/v1/spot-blocks/").json()["count"] == 0
        assert client.get(f"/api/v1/spot-blocks/{block['id']}/").status_code == 404
        assert client.delete(f"/api/v1/spot-blocks/{block['id']}/").status_code == 404
        assert SpotBlock.objects.count() == 1

    def test_block_of_a_spot_in_another_facility_is_400(self, auth_client, owner_a, garage_a, spot_a):
        from .factories import make_facility

        other = make_facility(garage_a.organization, name="Second")

        response = auth_client(owner_a).post(
            "/api/v1/spot-blocks/",
            {"facility": other.pk, "spot": spot_a.pk, "start": "2030-01-01T08:00:00Z", "end": "2030-01-01T09:00:00Z"},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "spot"
        assert not SpotBlock.objects.exists()


def test_anonymous_cannot_write(api_client, garage_a, zone_a):
    assert api_client.post("/api/v1/zones/", {"facility": garage_a.pk, "name": "X"}, format="json").status_code == 401
    assert api_client.patch(f"/api/v1/facilities/{garage_a.pk}/", {"name": "X"}, format="json").status_code == 401
    assert api_client.get("/api/v1/spots/").status_code == 401
    assert not Zone.objects.filter(name="X").exists()


def test_zone_delete_keeps_other_zones(auth_client, owner_a, garage_a, zone_a):
    other = make_zone(garage_a, name="Level 2")
    make_spot(zone_a, "Z1")
    make_spot(other, "Z2")

    assert auth_client(owner_a).delete(f"/api/v1/zones/{zone_a.pk}/").status_code == 204
    assert list(Spot.objects.values_list("code", flat=True)) == ["Z2"]


def test_anonymous_managed_listing_is_401(api_client):
    response = api_client.get("/api/v1/facilities/", {"mine": "true"})

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_bad_currency_on_update_is_400_not_500(auth_client, owner_a, garage_a):
    from app.exceptions import ApplicationError
    from parking.services import facility_update

    with pytest.raises(ApplicationError) as caught:
        facility_update(facility=garage_a, data={"currency": "us"})

    assert caught.value.code == "invalid_currency"
    assert caught.value.attr == "currency"
    garage_a.refresh_from_db()
    assert garage_a.currency == "USD"
