import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from parking import photos, services
from parking.models import Facility, FacilityPhoto, Spot, SpotBlock, Zone

from .factories import make_facility, make_spot, make_zone
from .test_photos import tiny_png

pytestmark = pytest.mark.django_db

ADMIN = "/admin/parking"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def superuser():
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def staff_user(org_a):
    """A back-office user (is_staff, not superuser) with every parking permission, member of org A."""
    user = UserFactory(email="desk@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="parking"))
    MembershipFactory(user=user, organization=org_a, role=Role.STAFF)
    return user


@pytest.fixture
def staff_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def inventory(garage_a, zone_a, spot_a, garage_b, superuser):
    """Org A: garage, zone, spot, block, photo. Org B: the same."""
    start = timezone.now() + timedelta(days=1)
    zone_b = Zone.objects.get(facility=garage_b)
    spot_b = Spot.objects.get(facility=garage_b)
    return {
        "a": {
            "facility": garage_a,
            "zone": zone_a,
            "spot": spot_a,
            "block": services.block_create(
                actor=superuser, facility=garage_a, start=start, end=start + timedelta(hours=2), reason="maintenance"
            ),
            "photo": photos.photo_create(facility=garage_a, file=ContentFile(tiny_png(), name="a.png")),
        },
        "b": {
            "facility": garage_b,
            "zone": zone_b,
            "spot": spot_b,
            "block": services.block_create(
                actor=superuser, facility=garage_b, start=start, end=start + timedelta(hours=2), reason="event"
            ),
            "photo": photos.photo_create(facility=garage_b, file=ContentFile(tiny_png(), name="b.png")),
        },
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, int]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


FACILITY_FORM = {
    "name": "Harbour Garage",
    "slug": "",
    "kind": "garage",
    "address_line": "2 Pier Rd",
    "city": "Oakland",
    "country": "us",
    "latitude": "37.800000",
    "longitude": "-122.270000",
    "timezone": "America/Los_Angeles",
    "currency": "usd",
    "operating_hours": '{"always_open": true}',
    "reservation_grace_minutes": 15,
    "early_checkin_minutes": 15,
    "min_booking_minutes": 30,
    "max_booking_minutes": 1440,
    "requires_prepayment": "on",
    "free_cancellation_minutes": 60,
    "late_cancellation_fee_percent": 50,
    "early_exit_refund": "none",
    "early_exit_minimum_fee": 0,
    "no_show_fee_percent": 100,
    "overstay_grace_minutes": 15,
    "overstay_rate_per_hour": 0,
}


def facility_form(organization, **overrides) -> dict:
    return {
        **FACILITY_FORM,
        "organization": organization.pk,
        **management("zones"),
        **management("spots"),
        **management("photos"),
        **overrides,
    }


def facility_change_form(facility, **overrides) -> dict:
    """The change form as the admin would post it unchanged (organization is read-only there)."""
    data: dict = {**management("zones"), **management("spots"), **management("photos")}
    for name in services.FACILITY_FIELDS:
        value = getattr(facility, name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif name == "operating_hours":
            # A field with a callable default posts its initial value too (show_hidden_initial).
            data[name] = data[f"initial-{name}"] = json.dumps(value)
        else:
            data[name] = value
    data.update(overrides)
    return data


def spot_form(zone, **overrides) -> dict:
    return {"zone": zone.pk, "code": "N-1", "size": "medium", "category": "standard", "status": "active", **overrides}


# ---------------------------------------------------------------------------- pages render


@pytest.mark.parametrize("model", ["facility", "zone", "spot", "spotblock", "facilityphoto"])
def test_changelist_and_add_pages_render_for_a_superuser(superuser_client, inventory, model):
    assert superuser_client.get(f"{ADMIN}/{model}/").status_code == 200
    assert superuser_client.get(f"{ADMIN}/{model}/add/").status_code == 200
    assert superuser_client.get(f"{ADMIN}/{model}/?q=a").status_code == 200


@pytest.mark.parametrize("model", ["facility", "zone", "spot", "block", "photo"])
def test_change_pages_render_for_a_superuser(superuser_client, inventory, model):
    obj = inventory["a"][model]
    url = {"block": "spotblock", "photo": "facilityphoto"}.get(model, model)

    response = superuser_client.get(f"{ADMIN}/{url}/{obj.pk}/change/")

    assert response.status_code == 200


def test_facility_changelist_counts_spots(superuser_client, garage_a, zone_a):
    make_spot(zone_a, "A-1")
    make_spot(zone_a, "A-2")

    response = superuser_client.get(f"{ADMIN}/facility/")

    (facility,) = response.context["cl"].result_list
    assert facility.spot_total == 2
    assert b"Alpha Garage" in response.content


def test_facility_change_page_with_many_spots_has_a_bounded_query_count(
    superuser_client, garage_a, zone_a, django_assert_max_num_queries
):
    services.spot_bulk_create(zone=zone_a, prefix="L1-", first_number=1, last_number=60, width=2, data={})
    with django_assert_max_num_queries(30):
        response = superuser_client.get(f"{ADMIN}/facility/{garage_a.pk}/change/")
    assert response.status_code == 200
    assert response.content.count(b"L1-") >= 60


# ---------------------------------------------------------------------------- staff scoping


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("facility", "facility"),
        ("zone", "zone"),
        ("spot", "spot"),
        ("spotblock", "block"),
        ("facilityphoto", "photo"),
    ],
)
def test_staff_sees_only_their_organizations_rows(staff_client, inventory, model, key):
    response = staff_client.get(f"{ADMIN}/{model}/")

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [inventory["a"][key]]
    theirs = inventory["b"][key]
    # Another organization's row does not exist for this user (the admin redirects with a message).
    assert staff_client.get(f"{ADMIN}/{model}/{theirs.pk}/change/").status_code == 302


def test_staff_choices_are_limited_to_their_organizations(staff_client, inventory, org_a):
    facility_form_fields = staff_client.get(f"{ADMIN}/facility/add/").context["adminform"].form.fields
    spot_form_fields = staff_client.get(f"{ADMIN}/spot/add/").context["adminform"].form.fields
    block_form_fields = staff_client.get(f"{ADMIN}/spotblock/add/").context["adminform"].form.fields
    zone_form_fields = staff_client.get(f"{ADMIN}/zone/add/").context["adminform"].form.fields

    assert list(facility_form_fields["organization"].queryset) == [org_a]
    assert list(spot_form_fields["zone"].queryset) == [inventory["a"]["zone"]]
    assert list(zone_form_fields["facility"].queryset) == [inventory["a"]["facility"]]
    assert list(block_form_fields["facility"].queryset) == [inventory["a"]["facility"]]
    assert list(block_form_fields["zone"].queryset) == [inventory["a"]["zone"]]
    assert list(block_form_fields["spot"].queryset) == [inventory["a"]["spot"]]


def test_staff_cannot_add_a_spot_to_another_organizations_zone(staff_client, inventory):
    zone_b = inventory["b"]["zone"]

    response = staff_client.post(f"{ADMIN}/spot/add/", spot_form(zone_b, code="SNEAK"))

    assert response.status_code == 200  # the form again, with an error on zone
    assert "zone" in response.context["adminform"].form.errors
    assert not Spot.objects.filter(code="SNEAK").exists()


def test_staff_without_a_membership_sees_nothing(inventory):
    user = UserFactory(email="lonely@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="parking"))
    client = Client()
    client.force_login(user)

    assert list(client.get(f"{ADMIN}/spot/").context["cl"].queryset) == []


# ---------------------------------------------------------------------------- actions


def test_maintenance_actions_change_statuses_through_the_service(
    staff_client, garage_a, zone_a, inventory, django_capture_on_commit_callbacks
):
    spots = [inventory["a"]["spot"], make_spot(zone_a, "A-102"), make_spot(zone_a, "A-103")]
    other_org_spot = inventory["b"]["spot"]
    selected = [spots[0].pk, spots[1].pk, other_org_spot.pk]

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(
            f"{ADMIN}/spot/", {"action": "put_into_maintenance", "_selected_action": selected}, follow=True
        )

    assert response.status_code == 200
    statuses = dict(Spot.objects.values_list("code", "status"))
    assert statuses == {"A-101": "maintenance", "A-102": "maintenance", "A-103": "active", "B-1": "active"}
    assert "2 spot(s) put into maintenance." in messages_of(response)
    bumps = [callback for callback in callbacks if callback.__name__ == "bump"]
    assert len(bumps) == 1  # one cache bump for the one facility
    assert len(callbacks) - len(bumps) == 2  # and one live spot.availability push per changed spot

    response = staff_client.post(
        f"{ADMIN}/spot/", {"action": "back_to_active", "_selected_action": [s.pk for s in spots]}, follow=True
    )

    assert set(Spot.objects.filter(facility=garage_a).values_list("status", flat=True)) == {"active"}
    assert "2 spot(s) back to active (1 already were)." in messages_of(response)


# ---------------------------------------------------------------------------- writes through services


def test_adding_a_facility_goes_through_the_service(superuser_client, org_a):
    response = superuser_client.post(f"{ADMIN}/facility/add/", facility_form(org_a))

    assert response.status_code == 302, response.context["adminform"].form.errors
    facility = Facility.objects.get(name="Harbour Garage")
    assert (facility.organization_id, facility.slug, facility.currency, facility.country) == (
        org_a.pk,
        "harbour-garage",
        "USD",
        "US",
    )


def test_adding_a_facility_with_zones_inline_fills_the_organization(superuser_client, org_a):
    data = facility_form(
        org_a,
        **management("zones", total=2),
        **{"zones-0-name": "Level 1", "zones-0-level": 1, "zones-0-kind": "floor", "zones-0-display_order": 1},
        **{"zones-1-name": "Roof", "zones-1-level": 2, "zones-1-kind": "floor", "zones-1-display_order": 2},
    )

    response = superuser_client.post(f"{ADMIN}/facility/add/", data)

    assert response.status_code == 302
    facility = Facility.objects.get(name="Harbour Garage")
    zones = Zone.objects.filter(facility=facility).order_by("display_order")
    assert [(z.name, z.organization_id) for z in zones] == [("Level 1", org_a.pk), ("Roof", org_a.pk)]


def test_changing_a_facility_bumps_the_cache(superuser_client, garage_a, django_capture_on_commit_callbacks):
    data = facility_change_form(garage_a, name="Alpha Garage North")

    with django_capture_on_commit_callbacks() as callbacks:
        response = superuser_client.post(f"{ADMIN}/facility/{garage_a.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    garage_a.refresh_from_db()
    assert garage_a.name == "Alpha Garage North"
    assert len(callbacks) == 1


def test_adding_a_zone_and_a_spot_fills_denormalised_columns(superuser_client, garage_a, org_a):
    response = superuser_client.post(
        f"{ADMIN}/zone/add/",
        {"facility": garage_a.pk, "name": "Level 2", "level": 2, "kind": "floor", "display_order": 2},
    )
    assert response.status_code == 302
    zone = Zone.objects.get(name="Level 2")
    assert (zone.facility_id, zone.organization_id) == (garage_a.pk, org_a.pk)

    response = superuser_client.post(
        f"{ADMIN}/spot/add/", spot_form(zone, code=" EV-1 ", category="ev", has_ev_charger="on")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    spot = Spot.objects.get(code="EV-1")
    assert (spot.zone_id, spot.facility_id, spot.organization_id) == (zone.pk, garage_a.pk, org_a.pk)
    assert spot.ev_charger_status == "available"  # the service's default for a charger


def test_duplicate_spot_code_is_a_form_error(superuser_client, zone_a, spot_a):
    response = superuser_client.post(f"{ADMIN}/spot/add/", spot_form(zone_a, code="A-101", size="large"))

    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    assert Spot.objects.filter(code="A-101").count() == 1


def test_changing_a_spot_goes_through_the_service(superuser_client, spot_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = superuser_client.post(
            f"{ADMIN}/spot/{spot_a.pk}/change/",
            spot_form(spot_a.zone, code="A-101", size="large", status="maintenance"),
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    spot_a.refresh_from_db()
    assert (spot_a.size, spot_a.status) == ("large", "maintenance")
    assert [callback.__name__ for callback in callbacks] == ["bump", "<lambda>"]  # cache bump, live push


def test_a_spot_cannot_move_to_another_facilitys_zone(superuser_client, spot_a, org_a):
    other = make_zone(make_facility(org_a, name="Alpha Lot"), name="Lot")

    response = superuser_client.post(f"{ADMIN}/spot/{spot_a.pk}/change/", spot_form(other, code="A-101"))

    assert response.status_code == 200
    assert "zone" in response.context["adminform"].form.errors
    spot_a.refresh_from_db()
    assert spot_a.zone_id != other.pk


# ---------------------------------------------------------------------------- blocks


def _block_form(facility, start, end, **overrides) -> dict:
    local = timezone.localtime
    return {
        "facility": facility.pk,
        "zone": "",
        "spot": "",
        "start_0": local(start).strftime("%Y-%m-%d"),
        "start_1": local(start).strftime("%H:%M:%S"),
        "end_0": local(end).strftime("%Y-%m-%d"),
        "end_1": local(end).strftime("%H:%M:%S"),
        "reason": "maintenance",
        "note": "Resurfacing",
        **overrides,
    }


def test_block_is_created_updated_and_deleted_through_the_services(
    superuser_client, superuser, garage_a, spot_a, django_capture_on_commit_callbacks
):
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0, second=0)
    response = superuser_client.post(
        f"{ADMIN}/spotblock/add/", _block_form(garage_a, start, start + timedelta(hours=3), spot=spot_a.pk)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    block = SpotBlock.objects.get()
    assert (block.spot_id, block.zone_id, block.organization_id, block.created_by_id) == (
        spot_a.pk,
        spot_a.zone_id,
        garage_a.organization_id,
        superuser.pk,
    )

    response = superuser_client.post(
        f"{ADMIN}/spotblock/{block.pk}/change/",
        _block_form(garage_a, start, start + timedelta(hours=5), note="Longer"),
    )
    assert response.status_code == 302
    block.refresh_from_db()
    assert (block.end - block.start, block.note, block.spot_id) == (timedelta(hours=5), "Longer", spot_a.pk)

    with django_capture_on_commit_callbacks() as callbacks:
        response = superuser_client.post(f"{ADMIN}/spotblock/{block.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not SpotBlock.objects.exists()
    assert len(callbacks) == 1


def test_block_with_a_spot_of_another_facility_is_refused_with_a_message(superuser_client, garage_a, garage_b):
    start = timezone.now() + timedelta(days=1)
    spot_b = Spot.objects.get(facility=garage_b)

    response = superuser_client.post(
        f"{ADMIN}/spotblock/add/", _block_form(garage_a, start, start + timedelta(hours=1), spot=spot_b.pk), follow=True
    )

    assert response.status_code == 200
    assert "Nothing was saved: The spot is not in this facility." in messages_of(response)
    assert not SpotBlock.objects.exists()


def test_block_ending_before_it_starts_is_a_form_error(superuser_client, garage_a):
    start = timezone.now() + timedelta(days=1)

    response = superuser_client.post(
        f"{ADMIN}/spotblock/add/", _block_form(garage_a, start, start - timedelta(hours=1))
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not SpotBlock.objects.exists()


# ---------------------------------------------------------------------------- photos


def test_photo_admin_checks_the_file_and_uploads_through_the_service(superuser_client, garage_a, media_root):
    bad = SimpleUploadedFile("notes.png", b"plain text pretending", content_type="image/png")
    response = superuser_client.post(
        f"{ADMIN}/facilityphoto/add/", {"facility": garage_a.pk, "image": bad, "caption": "", "position": ""}
    )
    assert response.status_code == 200
    assert "image" in response.context["adminform"].form.errors
    assert not FacilityPhoto.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]

    good = SimpleUploadedFile("front.png", tiny_png(), content_type="image/png")
    response = superuser_client.post(
        f"{ADMIN}/facilityphoto/add/", {"facility": garage_a.pk, "image": good, "caption": "Front", "position": ""}
    )
    assert response.status_code == 302
    photo = FacilityPhoto.objects.get()
    assert (photo.content_type, photo.caption, photo.position) == ("image/png", "Front", 0)


def test_photo_admin_delete_removes_the_file_after_commit(
    superuser_client, garage_a, media_root, django_capture_on_commit_callbacks
):
    photo = photos.photo_create(facility=garage_a, file=ContentFile(tiny_png(), name="x.png"))
    path = media_root / photo.image.name

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(f"{ADMIN}/facilityphoto/{photo.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not FacilityPhoto.objects.exists()
    assert not path.exists()


def test_service_error_on_change_rolls_back_and_shows_a_message(superuser_client, garage_a, org_a):
    make_facility(org_a, name="Alpha Lot", slug="alpha-lot")
    data = facility_change_form(garage_a, slug="alpha-lot", name="Renamed")

    response = superuser_client.post(f"{ADMIN}/facility/{garage_a.pk}/change/", data, follow=True)

    assert response.status_code == 200
    assert "Nothing was saved: This slug is already used in your organization." in messages_of(response)
    garage_a.refresh_from_db()
    assert (garage_a.name, garage_a.slug) == ("Alpha Garage", "alpha-garage")
    from django.contrib.admin.models import LogEntry

    assert not LogEntry.objects.exists()


def test_zone_inline_changes_go_through_the_services(
    superuser_client, garage_a, zone_a, django_capture_on_commit_callbacks
):
    spare = make_zone(garage_a, name="Spare", level=9, display_order=9)
    data = facility_change_form(garage_a, **management("zones", total=2, initial=2))
    for index, zone in enumerate([zone_a, spare]):
        data.update(
            {
                f"zones-{index}-id": zone.pk,
                f"zones-{index}-facility": garage_a.pk,
                f"zones-{index}-name": zone.name,
                f"zones-{index}-level": zone.level,
                f"zones-{index}-kind": zone.kind,
                f"zones-{index}-display_order": zone.display_order,
            }
        )
    data["zones-0-name"] = "Ground"
    data["zones-1-DELETE"] = "on"

    with django_capture_on_commit_callbacks() as callbacks:
        response = superuser_client.post(f"{ADMIN}/facility/{garage_a.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(Zone.objects.filter(facility=garage_a).values_list("name", flat=True)) == ["Ground"]
    assert len(callbacks) == 2  # zone_update and zone_delete each bump the facility cache
    garage_a.refresh_from_db()
    assert garage_a.is_published
