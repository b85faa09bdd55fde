"""Reads for pricing: which rule applies, fee policy, pass coverage, and prices for search pages."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from parking.models import Facility, Spot
from parking.pricing_hooks import WindowPrice

from .engine import PricingContext, quote_stay
from .fees import DEFAULT_SERVICE_FEE_PERCENT, DEFAULT_TRANSACTION_FEE, fee_breakdown
from .models import Discount, FeePolicy, Pass, PassProduct, PassStatus, PricingRule
from .schemas import PricingError

SCOPE_RANK = {"spot": 2, "zone": 1, "facility": 0}


def rules_for_facilities(facility_ids: Iterable[int]) -> list[PricingRule]:
    """Active rules of the facilities, in one query."""
    return list(PricingRule.objects.filter(facility_id__in=list(facility_ids), is_active=True).order_by("pk"))


def rule_select(
    rules: Iterable[PricingRule],
    *,
    facility_id: int,
    zone_id: int | None,
    spot_id: int | None,
    vehicle_type: str | None,
    spot_category: str | None,
    at: datetime,
) -> PricingRule | None:
    """The rule that prices a stay starting at ``at``: most specific scope (spot, zone, facility),
    then highest priority, then newest. Pure: works on rules already loaded."""

    def applies(rule: PricingRule) -> bool:
        if rule.facility_id != facility_id or not rule.is_active:
            return False
        if rule.spot_id is not None and rule.spot_id != spot_id:
            return False
        if rule.zone_id is not None and rule.zone_id != zone_id:
            return False
        if rule.vehicle_types and (vehicle_type is None or vehicle_type not in rule.vehicle_types):
            return False
        if rule.spot_categories and (spot_category is None or spot_category not in rule.spot_categories):
            return False
        if rule.valid_from is not None and at < rule.valid_from:
            return False
        return not (rule.valid_until is not None and at >= rule.valid_until)

    candidates = [rule for rule in rules if applies(rule)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (SCOPE_RANK[r.scope], r.priority, r.created_at, r.pk))


def fee_policy_for(organization_id: uuid.UUID) -> tuple[Decimal, int]:
    policy = FeePolicy.objects.filter(organization_id=organization_id).first()
    if policy is None:
        return Decimal(DEFAULT_SERVICE_FEE_PERCENT), DEFAULT_TRANSACTION_FEE
    return policy.service_fee_percent, policy.transaction_fee


def _fee_policies(organization_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[Decimal, int]]:
    wanted = set(organization_ids)
    found = {
        policy.organization_id: (policy.service_fee_percent, policy.transaction_fee)
        for policy in FeePolicy.objects.filter(organization_id__in=wanted)
    }
    default = (Decimal(DEFAULT_SERVICE_FEE_PERCENT), DEFAULT_TRANSACTION_FEE)
    return {org_id: found.get(org_id, default) for org_id in wanted}


def pass_coverage(
    *,
    driver: User | None,
    facility: Facility,
    vehicle_id: object | None,
    vehicle_type: str | None,
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` covered by the driver's active passes at the facility, restricted
    to each product's weekdays and hours in the facility's local time."""
    if driver is None:
        return []
    passes = (
        Pass.objects.filter(
            driver=driver,
            status=PassStatus.ACTIVE,
            product__facility=facility,
            product__is_active=True,
            valid_from__lt=end,
            valid_until__gt=start,
        )
        .filter(Q(vehicle__isnull=True) | Q(vehicle_id=vehicle_id))
        .select_related("product")
    )
    zone = ZoneInfo(facility.timezone)
    intervals: list[tuple[datetime, datetime]] = []
    for driver_pass in passes:
        product = driver_pass.product
        if product.vehicle_types and vehicle_type not in product.vehicle_types:
            continue
        lo, hi = max(start, driver_pass.valid_from), min(end, driver_pass.valid_until)
        intervals.extend(_product_hours(product, lo, hi, zone))
    return intervals


def _product_hours(
    product: PassProduct, start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut to the product's weekdays and daily hours (local time, per calendar day)."""
    if not product.valid_weekdays and product.valid_start_time is None and product.valid_end_time is None:
        return [(start, end)] if start < end else []
    result = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        if not product.valid_weekdays or day.weekday() in product.valid_weekdays:
            day_start = datetime.combine(day, product.valid_start_time or time(0), tzinfo=zone)
            if product.valid_end_time is None:
                day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            else:
                day_end = datetime.combine(day, product.valid_end_time, tzinfo=zone)
            lo, hi = max(start, day_start), min(end, day_end)
            if lo < hi:
                result.append((lo, hi))
        day += timedelta(days=1)
    return result


def discount_find(*, organization_id: uuid.UUID, code: str) -> Discount | None:
    return Discount.objects.filter(organization_id=organization_id, code__iexact=code.strip()).first()


# ---------------------------------------------------------------------------- prices for search pages


def _window_price(
    rule: PricingRule | None,
    facility: Facility,
    fees: tuple[Decimal, int],
    start: datetime,
    end: datetime,
    vehicle_type: str | None,
    spot_category: str | None,
) -> WindowPrice:
    if rule is None:
        return WindowPrice(total=None, parking_amount=None, currency=facility.currency)
    try:
        quote = quote_stay(
            strategy=rule.strategy,
            config=rule.config,
            start=start,
            end=end,
            time_zone=facility.timezone,
            context=PricingContext(vehicle_type=vehicle_type, spot_category=spot_category),
            rule_name=rule.name,
        )
    except PricingError:
        return WindowPrice(total=None, parking_amount=None, currency=facility.currency)
    breakdown = fee_breakdown(parking_amount=quote.parking_amount, service_fee_percent=fees[0], transaction_fee=fees[1])
    return WindowPrice(total=breakdown.total, parking_amount=quote.parking_amount, currency=facility.currency)


def price_facilities_for_window(
    facilities: Sequence[Facility], start: datetime, end: datetime, vehicle_type: str | None
) -> dict[int, WindowPrice]:
    """Each facility's facility-wide price for the window (two queries for the whole page)."""
    rules = rules_for_facilities(f.pk for f in facilities)
    fees = _fee_policies(f.organization_id for f in facilities)
    return {
        facility.pk: _window_price(
            rule_select(
                rules,
                facility_id=facility.pk,
                zone_id=None,
                spot_id=None,
                vehicle_type=vehicle_type,
                spot_category=None,
                at=start,
            ),
            facility,
            fees[facility.organization_id],
            start,
            end,
            vehicle_type,
            None,
        )
        for facility in facilities
    }


def price_spots_for_window(
    spots: Sequence[Spot], start: datetime, end: datetime, vehicle_type: str | None
) -> dict[int, WindowPrice]:
    """Each spot's price for the window under its most specific rule (three queries per page)."""
    facilities = {f.pk: f for f in Facility.objects.filter(pk__in={s.facility_id for s in spots})}
    rules = rules_for_facilities(facilities)
    fees = _fee_policies(f.organization_id for f in facilities.values())
    prices = {}
    for spot in spots:
        facility = facilities[spot.facility_id]
        rule = rule_select(
            rules,
            facility_id=spot.facility_id,
            zone_id=spot.zone_id,
            spot_id=spot.pk,
            vehicle_type=vehicle_type,
            spot_category=spot.category,
            at=start,
        )
        prices[spot.pk] = _window_price(
            rule, facility, fees[facility.organization_id], start, end, vehicle_type, spot.category
        )
    return prices


# ---------------------------------------------------------------------------- management lists


def rule_list_managed(*, actor: User) -> QuerySet[PricingRule]:
    return PricingRule.objects.filter(organization_id__in=organization_ids_for(actor=actor)).order_by(
        "facility_id", "-priority", "-created_at", "-pk"
    )


def pass_product_list_managed(*, actor: User) -> QuerySet[PassProduct]:
    return PassProduct.objects.filter(organization_id__in=organization_ids_for(actor=actor))


def discount_list_managed(*, actor: User) -> QuerySet[Discount]:
    return Discount.objects.filter(organization_id__in=organization_ids_for(actor=actor)).prefetch_related("facilities")


def pass_list_for_driver(*, driver: User) -> QuerySet[Pass]:
    return Pass.objects.filter(driver=driver).select_related("product", "product__facility")
