"""What PostgreSQL really does with the search and availability queries on a realistic data set.

3 000 facilities over Germany (2 700 published), 60 000 spots, 2 000 blocks — built with
INSERT … SELECT by the same generator as the benchmarks (bench/dataset.py), then ANALYZEd, inside
the test's transaction. Speed is measured in bench/, not here; these tests pin the *plans*: the
geo prefilter must use ``facility_published_geo``, the spot lookup ``spot_availability_idx`` (or
the facility/code unique index) and the block check ``spotblock_facility_window``.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import QuerySet

from accounts.tests.factories import OrganizationFactory
from bench.dataset import BASE, CITIES, Dataset, DatasetSize, build
from parking.availability import SpotRequirements
from parking.models import Facility, Spot, SpotBlock
from parking.selectors import SearchParams, facility_search, spots_available

SIZE = DatasetSize(facilities=3000, spots_per_facility=20, blocks=2000)
SPOT_INDEXES = {"spot_availability_idx", "spot_facility_code_unique"}


@pytest.fixture(scope="module")
def dataset(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Dataset]:
    """Built once for the module inside a transaction that is rolled back at the end."""
    from django.db import connection, transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build(organization_id=OrganizationFactory().pk, size=SIZE)
            # Check the deferred foreign keys of the generated rows now, once: left pending, every
            # test's teardown (a savepoint rollback after SET CONSTRAINTS ALL IMMEDIATE) rechecks them.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def plan_nodes(queryset: QuerySet[Any]) -> list[dict[str, Any]]:
    """Every node of the JSON plan (sub-plans included), depth first."""
    explained = json.loads(queryset.explain(format="json"))
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(explained[0]["Plan"])
    return nodes


def index_uses(nodes: list[dict[str, Any]], table: str) -> set[tuple[str, str]]:
    """(node type, index name) of the index scans reading ``table``.

    A Bitmap Index Scan names only the index; its Bitmap Heap Scan parent names the table."""
    uses = set()
    for node in nodes:
        if node.get("Relation Name") == table and "Index Name" in node:
            uses.add((node["Node Type"], node["Index Name"]))
        if node["Node Type"] == "Bitmap Heap Scan" and node.get("Relation Name") == table:
            for child in node.get("Plans", []):
                uses |= {(c["Node Type"], c["Index Name"]) for c in _bitmap_leaves(child)}
    return uses


def _bitmap_leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The Bitmap Index Scans feeding a Bitmap Heap Scan (through BitmapAnd / BitmapOr only: the heap
    scan's other children are sub-plans of its target list, e.g. the per-facility spot count)."""
    if node["Node Type"] == "Bitmap Index Scan":
        return [node]
    if node["Node Type"] in ("BitmapAnd", "BitmapOr"):
        return [leaf for child in node.get("Plans", []) for leaf in _bitmap_leaves(child)]
    return []


def seq_scans(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}


def describe(nodes: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{node['Node Type']} {node.get('Relation Name', '')} {node.get('Index Name', '')}".rstrip() for node in nodes
    )


@pytest.mark.django_db
def test_the_data_set_is_what_the_plans_are_judged_on(dataset: Dataset) -> None:
    assert Facility.objects.count() == 3000
    assert len(dataset.published_ids) == Facility.objects.filter(is_published=True).count()
    assert 2500 < len(dataset.published_ids) < 2900
    assert Spot.objects.count() == 60000
    assert SpotBlock.objects.count() == 2000


@pytest.mark.django_db
@pytest.mark.parametrize("radius_km", [2.0, 10.0, 50.0])
def test_radius_search_uses_the_published_geo_index(dataset: Dataset, radius_km: float) -> None:
    _, lat, lng = CITIES[0]  # Berlin: the densest cluster, the hardest case for an index

    nodes = plan_nodes(facility_search(SearchParams(lat=lat, lng=lng, radius_km=radius_km)))

    assert {name for _, name in index_uses(nodes, "parking_facility")} == {"facility_published_geo"}, describe(nodes)
    assert "parking_facility" not in seq_scans(nodes), describe(nodes)


@pytest.mark.django_db
def test_radius_search_across_the_antimeridian_uses_the_published_geo_index(dataset: Dataset) -> None:
    # The box splits into two longitude ranges; the latitude range still drives the index.
    nodes = plan_nodes(facility_search(SearchParams(lat=-16.8, lng=179.95, radius_km=15)))

    assert {name for _, name in index_uses(nodes, "parking_facility")} == {"facility_published_geo"}, describe(nodes)


def _munich_search_with_a_window() -> QuerySet[Facility]:
    _, lat, lng = CITIES[2]
    return facility_search(
        SearchParams(
            lat=lat,
            lng=lng,
            radius_km=5,
            start=BASE + timedelta(days=3, hours=9),
            end=BASE + timedelta(days=3, hours=12),
            requirements=SpotRequirements(vehicle_type="standard"),
        )
    )


@pytest.mark.django_db
def test_radius_search_with_a_window_uses_the_geo_and_spot_indexes(dataset: Dataset) -> None:
    nodes = plan_nodes(_munich_search_with_a_window())

    assert {name for _, name in index_uses(nodes, "parking_facility")} == {"facility_published_geo"}, describe(nodes)
    assert {name for _, name in index_uses(nodes, "parking_spot")} == {"spot_availability_idx"}, describe(nodes)
    assert seq_scans(nodes) == set(), describe(nodes)


@pytest.mark.django_db
def test_radius_search_with_a_window_checks_blocks_with_the_window_index(dataset: Dataset) -> None:
    nodes = plan_nodes(_munich_search_with_a_window())

    assert {name for _, name in index_uses(nodes, "parking_spotblock")} == {"spotblock_facility_window"}, describe(
        nodes
    )


def _spots_available_plan(dataset: Dataset, requirements: SpotRequirements) -> list[dict[str, Any]]:
    facility = Facility.objects.get(pk=dataset.published_ids[len(dataset.published_ids) // 2])
    start, end = BASE + timedelta(days=5, hours=8), BASE + timedelta(days=5, hours=18)
    return plan_nodes(spots_available(start=start, end=end, requirements=requirements, facility=facility))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "requirements",
    [
        pytest.param(SpotRequirements(), id="any"),
        pytest.param(SpotRequirements(vehicle_type="standard"), id="standard"),
        pytest.param(SpotRequirements(vehicle_type="van", needs_ev=True), id="van-ev"),
    ],
)
def test_spots_available_finds_the_spots_with_a_composite_index(
    dataset: Dataset, requirements: SpotRequirements
) -> None:
    nodes = _spots_available_plan(dataset, requirements)

    spot_indexes = {name for _, name in index_uses(nodes, "parking_spot")}
    assert len(spot_indexes) == 1, describe(nodes)
    assert spot_indexes <= SPOT_INDEXES, describe(nodes)
    assert "parking_spot" not in seq_scans(nodes), describe(nodes)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "requirements",
    [SpotRequirements(), SpotRequirements(vehicle_type="standard")],
    ids=["any", "standard"],
)
def test_spots_available_checks_blocks_with_the_window_index(dataset: Dataset, requirements: SpotRequirements) -> None:
    nodes = _spots_available_plan(dataset, requirements)

    assert {name for _, name in index_uses(nodes, "parking_spotblock")} == {"spotblock_facility_window"}, describe(
        nodes
    )
    assert "parking_spotblock" not in seq_scans(nodes), describe(nodes)
