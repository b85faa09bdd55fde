"""Radius search against an independent distance computation, on real rows in PostgreSQL.

The oracle is written here, not imported: the spherical law of cosines on the same mean Earth radius
(what the SQL haversine must agree with to well under a metre), and Vincenty's inverse formula on the
WGS-84 ellipsoid (the real Earth; a sphere is within ~0.56 % of it everywhere). Test points are placed
with the forward (destination-point) formula and kept at least 50 m away from the circle's edge, so a
few metres of rounding can never decide membership.
"""

import math
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Q
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import OrganizationFactory
from parking import geo
from parking.models import Facility
from parking.selectors import SearchParams, facility_search
from parking.services import facility_create

R_KM = 6371.0088  # mean Earth radius (IUGG), the sphere the platform uses
EDGE_MARGIN_KM = 0.05

# ---------------------------------------------------------------------------- independent geometry


def law_of_cosines_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance on the mean-radius sphere by the spherical law of cosines."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    cos_angle = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(math.radians(lng2 - lng1))
    return R_KM * math.acos(max(-1.0, min(1.0, cos_angle)))


def vincenty_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Geodesic distance on the WGS-84 ellipsoid (Vincenty 1975, inverse problem)."""
    a, f = 6378137.0, 1 / 298.257223563
    b = (1 - f) * a
    big_l = math.radians((lng2 - lng1 + 180) % 360 - 180)
    u1 = math.atan((1 - f) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - f) * math.tan(math.radians(lat2)))
    sin_u1, cos_u1, sin_u2, cos_u2 = math.sin(u1), math.cos(u1), math.sin(u2), math.cos(u2)
    lam = big_l
    for _ in range(200):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
        if sin_sigma == 0:
            return 0.0
        cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = cos_u1 * cos_u2 * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = cos_sigma - 2 * sin_u1 * sin_u2 / cos2_alpha if cos2_alpha else 0.0
        c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        previous = lam
        lam = big_l + (1 - c) * f * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
        if abs(lam - previous) < 1e-12:
            break
    else:  # pragma: no cover - only near-antipodal points fail to converge; the tests use none
        raise AssertionError("Vincenty did not converge")
    u_sq = cos2_alpha * (a * a - b * b) / (b * b)
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = (
        big_b
        * sin_sigma
        * (
            cos_2sm
            + big_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    return b * big_a * (sigma - delta_sigma) / 1000


def destination(lat: float, lng: float, bearing_deg: float, distance_km: float) -> tuple[float, float]:
    """The point ``distance_km`` from (lat, lng) along the initial bearing (sphere, forward problem)."""
    phi1, lam1, theta = math.radians(lat), math.radians(lng), math.radians(bearing_deg)
    delta = distance_km / R_KM
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * math.sin(phi2)
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180


def stored(value: float) -> Decimal:
    """What the (9, 6) decimal column keeps."""
    return Decimal(f"{value:.6f}")


def test_oracles_agree_with_published_reference_values() -> None:
    # Vincenty's own test line (Flinders Peak → Buninyong, Geoscience Australia): 54 972.271 m.
    flinders = (-(37 + 57 / 60 + 3.72030 / 3600), 144 + 25 / 60 + 29.52440 / 3600)
    buninyong = (-(37 + 39 / 60 + 10.15610 / 3600), 143 + 55 / 60 + 35.38390 / 3600)
    assert vincenty_km(*flinders, *buninyong) == pytest.approx(54.972271, abs=1e-6)
    # One degree of arc on the mean sphere, along a meridian and along the equator.
    assert law_of_cosines_km(10, 20, 11, 20) == pytest.approx(R_KM * math.pi / 180, rel=1e-9)
    assert law_of_cosines_km(0, 179.5, 0, -179.5) == pytest.approx(R_KM * math.pi / 180, rel=1e-9)
    # The forward formula inverts the inverse one.
    lat, lng = destination(-16.8, 179.95, 75.0, 12.5)
    assert law_of_cosines_km(-16.8, 179.95, lat, lng) == pytest.approx(12.5, abs=1e-6)


# ---------------------------------------------------------------------------- search on real rows


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lng: float


def at(name: str, centre: tuple[float, float], bearing: float, km: float) -> Place:
    return Place(name, *destination(centre[0], centre[1], bearing, km))


def _create(org: Any, place: Place, *, published: bool = True) -> Facility:
    return facility_create(
        organization=org,
        data={
            "name": place.name,
            "address_line": "1 Test Street",
            "city": "Testville",
            "country": "US",
            "latitude": stored(place.lat),
            "longitude": stored(place.lng),
            "timezone": "UTC",
            "is_published": published,
        },
    )


def _assert_search(
    centre: tuple[float, float], radius_km: float | None, places: list[Place], *, expected_inside: set[str]
) -> None:
    """Store ``places`` (plus an unpublished decoy at the centre), search, compare with the oracle."""
    org = OrganizationFactory()
    for place in places:
        _create(org, place)
    _create(org, Place("unpublished decoy", *centre), published=False)
    radius = radius_km if radius_km is not None else geo.MAX_RADIUS_KM

    truth: dict[str, float] = {}
    for place in places:
        distance = law_of_cosines_km(centre[0], centre[1], float(stored(place.lat)), float(stored(place.lng)))
        # Guard on the test data itself: nothing within 50 m of the edge, and the intended side.
        assert abs(distance - radius) >= EDGE_MARGIN_KM, f"{place.name} is {distance:.4f} km, too near the edge"
        assert (distance <= radius) == (place.name in expected_inside), f"{place.name}: {distance:.4f} km"
        truth[place.name] = distance

    results = list(
        facility_search(SearchParams(lat=centre[0], lng=centre[1], radius_km=radius_km)).order_by("distance_km", "pk")
    )

    expected_order = sorted(expected_inside, key=truth.__getitem__)
    assert [f.name for f in results] == expected_order
    for facility in results:
        oracle = truth[facility.name]
        assert facility.distance_km == pytest.approx(oracle, rel=0.005)
        assert abs(facility.distance_km - oracle) < 0.001  # same sphere: agreement to under a metre
        # ... and the sphere is within 0.6 % of the WGS-84 geodesic (its worst case is ~0.56 %).
        ellipsoid = vincenty_km(centre[0], centre[1], float(facility.latitude), float(facility.longitude))
        assert facility.distance_km == pytest.approx(ellipsoid, rel=0.006)


@pytest.mark.django_db
def test_city_search_returns_exactly_the_facilities_within_the_radius_nearest_first() -> None:
    berlin = (52.520008, 13.404954)
    places = [
        at("Alexanderplatz", berlin, 60, 0.6),
        at("Kreuzberg", berlin, 170, 2.8),
        at("Charlottenburg", berlin, 265, 4.7),
        at("Prenzlauer Berg", berlin, 10, 3.1),
        at("just inside", berlin, 315, 4.93),
        at("just outside", berlin, 135, 5.07),
        at("Spandau", berlin, 280, 14.0),
        at("Potsdam", berlin, 235, 27.0),
    ]
    _assert_search(
        berlin,
        5.0,
        places,
        expected_inside={"Alexanderplatz", "Kreuzberg", "Charlottenburg", "Prenzlauer Berg", "just inside"},
    )


@pytest.mark.django_db
def test_a_point_just_outside_the_radius_is_excluded_in_every_direction() -> None:
    centre = (40.7128, -74.0060)
    # Distinct distances (1.900, 1.905, … km) so the expected order is unambiguous.
    inside = [at(f"in {b}", centre, b, 1.9 + 0.005 * i) for i, b in enumerate(range(0, 360, 45))]
    outside = [at(f"out {b}", centre, b, 2.07 + 0.005 * i) for i, b in enumerate(range(22, 360, 45))]
    _assert_search(centre, 2.0, inside + outside, expected_inside={p.name for p in inside})


@pytest.mark.django_db
def test_search_across_the_antimeridian_from_the_east_side() -> None:
    # Taveuni, Fiji, straddles 180°. 0.1° of longitude at 16.8°S is ~10.6 km.
    centre = (-16.8, 179.95)
    places = [
        Place("west of the line", -16.8, -179.95),
        Place("Waiyevo", -16.79, 179.97),
        Place("north-east", -16.77, -179.93),
        Place("Somosomo far", -16.8, -179.8),
        Place("Labasa", -16.43, 179.37),
    ]
    _assert_search(centre, 15.0, places, expected_inside={"west of the line", "Waiyevo", "north-east"})


@pytest.mark.django_db
def test_search_across_the_antimeridian_from_the_west_side() -> None:
    centre = (-16.8, -179.95)
    places = [
        Place("east of the line", -16.8, 179.95),
        Place("on the line", -16.85, 180.0),
        Place("on the line, negative spelling", -16.75, -180.0),
        Place("too far east", -16.8, 179.75),
        Place("too far west", -16.8, -179.75),
    ]
    _assert_search(
        centre,
        15.0,
        places,
        expected_inside={"east of the line", "on the line", "on the line, negative spelling"},
    )


@pytest.mark.parametrize("centre_lng", [180.0, -180.0])
@pytest.mark.django_db
def test_search_centred_exactly_on_the_antimeridian(centre_lng: float) -> None:
    centre = (10.0, centre_lng)
    places = [Place("east", 10.0, 179.9), Place("west", 10.0, -179.88), Place("far", 10.0, 179.5)]
    _assert_search(centre, 15.0, places, expected_inside={"east", "west"})


@pytest.mark.django_db
def test_high_latitude_search_in_svalbard() -> None:
    longyearbyen = (78.2232, 15.6267)
    places = [
        at("Adventdalen", longyearbyen, 100, 9.0),
        at("east edge, poleward", longyearbyen, 80, 19.9),
        at("west edge", longyearbyen, 270, 19.9),
        at("north, outside", longyearbyen, 0, 20.1),
        at("east, outside", longyearbyen, 90, 20.2),
        Place("Barentsburg", 78.0648, 14.2335),
        Place("Ny-Ålesund", 78.9250, 11.9300),
    ]
    _assert_search(longyearbyen, 20.0, places, expected_inside={"Adventdalen", "east edge, poleward", "west edge"})


@pytest.mark.django_db
def test_search_near_the_north_pole_reaches_across_it() -> None:
    # A 50 km circle around 89.8°N contains the pole: every longitude is in range.
    centre = (89.8, 0.0)
    places = [
        Place("lng 0, poleward", 89.9, 0.0),
        Place("lng 180, across the pole", 89.9, 180.0),
        Place("lng -179.99, across the pole", 89.85, -179.99),
        Place("lng 90", 89.8, 90.0),
        Place("lng -90", 89.75, -90.0),
        Place("lng 0, equatorward", 89.52, 0.0),
        Place("lng 180, too far", 89.6, 180.0),
        Place("lng 0, too far", 89.3, 0.0),
    ]
    _assert_search(
        centre,
        50.0,
        places,
        expected_inside={
            "lng 0, poleward",
            "lng 180, across the pole",
            "lng -179.99, across the pole",
            "lng 90",
            "lng -90",
            "lng 0, equatorward",
        },
    )


@pytest.mark.django_db
def test_search_near_the_south_pole_reaches_across_it() -> None:
    centre = (-89.9, 45.0)  # near Amundsen–Scott
    places = [
        Place("other side", -89.8, -135.0),
        Place("same side", -89.7, 45.0),
        Place("too far", -89.4, -135.0),
    ]
    _assert_search(centre, 40.0, places, expected_inside={"other side", "same side"})


@pytest.mark.django_db
def test_search_across_the_equator() -> None:
    quito = (-0.1807, -78.4678)
    places = [
        at("Mitad del Mundo", quito, 5, 20.0),
        at("north of the line", quito, 20, 24.0),
        at("south", quito, 180, 10.0),
        at("east", quito, 90, 24.9),
        at("north, outside", quito, 0, 25.1),
        Place("Cayambe", 0.0411, -78.1436),
    ]
    _assert_search(quito, 25.0, places, expected_inside={"Mitad del Mundo", "north of the line", "south", "east"})


@pytest.mark.django_db
def test_search_in_the_southern_hemisphere() -> None:
    sydney = (-33.8688, 151.2093)
    places = [
        Place("Bondi", -33.8915, 151.2767),
        at("Chatswood", sydney, 350, 9.5),
        at("south, outside", sydney, 180, 10.1),
        Place("Parramatta", -33.8150, 151.0011),
    ]
    _assert_search(sydney, 10.0, places, expected_inside={"Bondi", "Chatswood"})


@pytest.mark.django_db
def test_search_across_the_prime_meridian() -> None:
    greenwich = (51.4769, -0.0005)
    places = [
        Place("east of zero", 51.48, 0.02),
        Place("west of zero", 51.47, -0.03),
        at("outside east", greenwich, 90, 3.2),
    ]
    _assert_search(greenwich, 3.0, places, expected_inside={"east of zero", "west of zero"})


@pytest.mark.django_db
def test_missing_radius_means_the_maximum_radius() -> None:
    assert geo.MAX_RADIUS_KM == 50.0
    centre = (48.8566, 2.3522)
    places = [at("49 km", centre, 200, 49.0), at("51 km", centre, 20, 51.0)]
    _assert_search(centre, None, places, expected_inside={"49 km"})


@pytest.mark.django_db
def test_unpublished_facilities_are_never_returned() -> None:
    org = OrganizationFactory()
    hidden = _create(org, Place("hidden", 52.0, 13.0), published=False)
    shown = _create(org, Place("shown", 52.0, 13.001))

    assert list(facility_search(SearchParams())) == [shown]
    assert list(facility_search(SearchParams(lat=52.0, lng=13.0, radius_km=1))) == [shown]
    assert Facility.objects.filter(pk=hidden.pk, is_published=False).exists()


@pytest.mark.django_db
def test_a_centre_a_hair_away_from_a_stored_coordinate_does_not_underflow() -> None:
    # Regression: SIN(1e-170)^2 underflows float8 and PostgreSQL raised "value out of range: underflow".
    org = OrganizationFactory()
    null_island = _create(org, Place("Null Island", 0.0, 0.0))

    results = list(facility_search(SearchParams(lat=1e-170, lng=-1e-170, radius_km=1)))

    assert results == [null_island]
    assert results[0].distance_km == 0.0


# ---------------------------------------------------------------------------- bounding box property

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": operator.ge,
    "lte": operator.le,
    "gt": operator.gt,
    "lt": operator.lt,
}


def q_matches(q: Q, row: dict[str, Decimal]) -> bool:
    """Evaluate a Q of plain comparisons on a row, the way SQL would (exact Decimal arithmetic)."""
    results = []
    for child in q.children:
        if isinstance(child, Q):
            results.append(q_matches(child, row))
        else:
            lookup, value = child
            field, op = lookup.split("__")
            results.append(_OPS[op](row[field], Decimal(value)))
    combined = all(results) if q.connector == Q.AND else any(results)
    return not combined if q.negated else combined


def test_q_evaluator_reads_and_or_and_negation() -> None:
    row = {"latitude": Decimal("10.5"), "longitude": Decimal("-179.9")}
    assert q_matches(Q(latitude__gte=Decimal(10)) & (Q(longitude__gte=179) | Q(longitude__lte=-179)), row)
    assert not q_matches(Q(latitude__gte=Decimal(10)) & Q(longitude__gte=179), row)
    assert q_matches(~Q(latitude__lt=Decimal(10)), row)


centres = st.tuples(
    st.floats(min_value=-89.9, max_value=89.9, allow_nan=False),
    st.floats(min_value=-180.0, max_value=180.0, allow_nan=False),
)
radii = st.floats(min_value=0.1, max_value=50.0, allow_nan=False)
bearings = st.floats(min_value=0.0, max_value=360.0, exclude_max=True, allow_nan=False)
fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=1500, deadline=None)
@given(centre=centres, radius=radii, bearing=bearings, fraction=fractions)
def test_bounding_box_contains_every_stored_point_within_the_radius(
    centre: tuple[float, float], radius: float, bearing: float, fraction: float
) -> None:
    lat, lng = destination(centre[0], centre[1], bearing, fraction * radius)
    row = {"latitude": stored(lat), "longitude": stored(lng)}
    # The stored (6-decimal) point is what the database compares; it must itself be within the radius.
    assume(law_of_cosines_km(centre[0], centre[1], float(row["latitude"]), float(row["longitude"])) <= radius)

    assert q_matches(geo.bounding_box(centre[0], centre[1], radius), row)


@pytest.mark.parametrize(
    ("centre", "radius", "inside", "outside"),
    [
        # Ordinary box: one latitude range and one longitude range.
        ((52.0, 13.0), 10.0, (52.08, 13.0), (52.1, 13.0)),
        # Wraps the antimeridian: two longitude ranges.
        ((0.0, 179.99), 10.0, (0.0, -179.95), (0.0, -179.9)),
        ((0.0, -179.99), 10.0, (0.0, 179.95), (0.0, 179.9)),
        # Reaches the pole: every longitude.
        ((89.95, 0.0), 10.0, (89.95, 180.0), (89.8, 0.0)),
        ((-89.95, 0.0), 10.0, (-89.95, -90.0), (-89.8, 0.0)),
    ],
)
def test_bounding_box_shapes(
    centre: tuple[float, float], radius: float, inside: tuple[float, float], outside: tuple[float, float]
) -> None:
    box = geo.bounding_box(centre[0], centre[1], radius)

    assert q_matches(box, {"latitude": stored(inside[0]), "longitude": stored(inside[1])})
    assert not q_matches(box, {"latitude": stored(outside[0]), "longitude": stored(outside[1])})


case = st.tuples(centres, radii, bearings, fractions, st.booleans())


@pytest.mark.django_db
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(cases=st.lists(case, min_size=100, max_size=100))
def test_within_radius_in_the_database_keeps_inside_points_and_drops_outside_ones(
    cases: list[tuple[tuple[float, float], float, float, float, bool]],
) -> None:
    """Through PostgreSQL: a published facility ≥ 5 m inside the circle is found by the box and the
    distance filter; one ≥ 5 m outside is dropped by the distance filter (the box may keep it)."""
    # Each example in its own savepoint, rolled back: examples neither see nor poison each other.
    with transaction.atomic():
        _check_generated_cases(cases)
        transaction.set_rollback(True)


def _check_generated_cases(cases: list[tuple[tuple[float, float], float, float, float, bool]]) -> None:
    org = OrganizationFactory()
    facilities = []
    for (centre_lat, centre_lng), radius, bearing, fraction, inside in cases:
        distance = fraction * (radius - 0.005) if inside else radius + 0.005 + fraction * radius
        lat, lng = destination(centre_lat, centre_lng, bearing, distance)
        facilities.append(
            Facility(
                organization=org,
                name="generated",
                slug=f"g-{uuid.uuid4().hex[:12]}",
                address_line="x",
                city="x",
                country="US",
                latitude=stored(lat),
                longitude=stored(lng),
                timezone="UTC",
                currency="USD",
                is_published=True,
            )
        )
    Facility.objects.bulk_create(facilities)

    for facility, ((centre_lat, centre_lng), radius, _, _, inside) in zip(facilities, cases, strict=True):
        oracle = law_of_cosines_km(centre_lat, centre_lng, float(facility.latitude), float(facility.longitude))
        assert (oracle <= radius) == inside  # the generator did what it says
        one = Facility.objects.filter(pk=facility.pk, is_published=True)
        if inside:
            assert one.filter(geo.bounding_box(centre_lat, centre_lng, radius)).exists()
        found = list(
            geo.within_radius(one, lat=centre_lat, lng=centre_lng, radius_km=radius).values_list(
                "distance_km", flat=True
            )
        )
        if inside:
            assert len(found) == 1
            assert found[0] == pytest.approx(oracle, abs=0.001)
        else:
            assert found == []
