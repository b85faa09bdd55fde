"""Writes for pricing: rules, fee-checked quotes, pass products, discounts and their redemption."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from app.exceptions import ApplicationError
from parking import availability
from parking.availability import SpotRequirements
from parking.cache import facility_cache_bump
from parking.models import Facility, Spot, SpotStatus, Zone
from parking.windows import window_validate
from vehicles.models import Vehicle

from . import selectors
from .engine import PricingContext, quote_stay
from .exceptions import DiscountExhaustedError, InvalidPromoCodeError, NoApplicableRuleError, from_engine
from .fees import discount_amount, fee_breakdown
from .models import Discount, DiscountKind, DiscountRedemption, Pass, PassProduct, PassStatus, PricingRule, Quote
from .schemas import PricingError, validate_config

QUOTE_TTL = timedelta(minutes=15)
RULE_FIELDS = frozenset(
    {
        "name",
        "vehicle_types",
        "spot_categories",
        "priority",
        "valid_from",
        "valid_until",
        "is_active",
        "strategy",
        "config",
    }
)


# ---------------------------------------------------------------------------- rules


def _check_rule(strategy: str, config: Any) -> None:
    try:
        validate_config(strategy, config)
    except PricingError as exc:
        raise from_engine(exc) from exc


def _rule_scope(facility: Facility, zone: Zone | None, spot: Spot | None) -> tuple[Zone | None, Spot | None]:
    if zone is not None and zone.facility_id != facility.pk:
        raise ApplicationError("The zone is not in this facility.", code="invalid", attr="zone")
    if spot is not None and spot.facility_id != facility.pk:
        raise ApplicationError("The spot is not in this facility.", code="invalid", attr="spot")
    if spot is not None and zone is not None and spot.zone_id != zone.pk:
        raise ApplicationError("The spot is not in this zone.", code="invalid", attr="spot")
    return zone, spot


@transaction.atomic
def rule_create(
    *, facility: Facility, zone: Zone | None = None, spot: Spot | None = None, data: dict[str, Any]
) -> PricingRule:
    """Create a rule after validating its config (400 naming the JSON path of the bad key)."""
    fields = {key: value for key, value in data.items() if key in RULE_FIELDS}
    _check_rule(fields.get("strategy", ""), fields.get("config"))
    zone, spot = _rule_scope(facility, zone, spot)
    rule = PricingRule(organization_id=facility.organization_id, facility=facility, zone=zone, spot=spot, **fields)
    rule.full_clean(validate_constraints=False)
    rule.save()
    facility_cache_bump(facility.pk)
    return rule


@transaction.atomic
def rule_update(*, rule: PricingRule, data: dict[str, Any]) -> PricingRule:
    for key, value in data.items():
        if key in RULE_FIELDS:
            setattr(rule, key, value)
    _check_rule(rule.strategy, rule.config)
    if rule.valid_from and rule.valid_until and rule.valid_from >= rule.valid_until:
        raise ApplicationError("valid_until must be after valid_from.", code="invalid", attr="valid_until")
    rule.full_clean(validate_constraints=False)
    rule.save()
    facility_cache_bump(rule.facility_id)
    return rule


def rule_delete(*, rule: PricingRule) -> None:
    facility_id = rule.facility_id
    rule.delete()
    facility_cache_bump(facility_id)


# ---------------------------------------------------------------------------- quotes


@dataclass(frozen=True)
class QuoteRequest:
    facility: Facility
    start: datetime
    end: datetime
    vehicle_type: str
    spot: Spot | None = None
    vehicle: Vehicle | None = None
    driver: User | None = None
    promo_code: str = ""


def _occupancy_ratio(facility: Facility, start: datetime, end: datetime) -> float | None:
    """Share of the facility's active spots that are taken during the window (None without spots)."""
    active = Spot.objects.filter(facility=facility, status=SpotStatus.ACTIVE).count()
    if not active:
        return None
    free = (
        availability.spots_free(start=start, end=end, requirements=SpotRequirements()).filter(facility=facility).count()
    )
    return (active - free) / active


def _discount_for(request: QuoteRequest, parking_amount: int) -> tuple[Discount | None, int]:
    """Validate the promo code for this request. Limits are checked again at redemption."""
    if not request.promo_code:
        return None, 0
    discount = selectors.discount_find(organization_id=request.facility.organization_id, code=request.promo_code)
    now = timezone.now()
    if discount is None or not discount.is_active:
        raise InvalidPromoCodeError("Unknown or inactive promo code.")
    if (discount.valid_from and now < discount.valid_from) or (discount.valid_until and now >= discount.valid_until):
        raise InvalidPromoCodeError("This promo code is not valid at this time.")
    if discount.facilities.exists() and not discount.facilities.filter(pk=request.facility.pk).exists():
        raise InvalidPromoCodeError("This promo code does not apply to this facility.")
    minutes = (request.end - request.start).total_seconds() / 60
    if minutes < discount.min_duration_minutes:
        raise InvalidPromoCodeError(
            f"This promo code needs a stay of at least {discount.min_duration_minutes} minutes."
        )
    if discount.max_redemptions is not None and discount.redemption_count >= discount.max_redemptions:
        raise InvalidPromoCodeError("This promo code has been used up.")
    if discount.max_redemptions_per_user is not None:
        if request.driver is None:
            raise InvalidPromoCodeError("Log in to use this promo code.")
        used = DiscountRedemption.objects.filter(discount=discount, user=request.driver).count()
        if used >= discount.max_redemptions_per_user:
            raise InvalidPromoCodeError("You have already used this promo code.")
    amount = discount_amount(
        parking_amount=parking_amount,
        percent=discount.percent if discount.kind == DiscountKind.PERCENT else None,
        fixed_amount=discount.amount if discount.kind == DiscountKind.FIXED else None,
    )
    return discount, amount


def quote_create(request: QuoteRequest) -> Quote:
    """Price a window for a facility (its facility-wide rule) or a spot (its most specific rule),
    store the itemised quote for ``QUOTE_TTL`` and return it.

    Raises InvalidWindowError/FacilityClosedError (400), NoApplicableRuleError (409),
    InvalidPromoCodeError (400) or the engine's errors as 400 naming the field.
    """
    facility, spot = request.facility, request.spot
    window_validate(facility=facility, start=request.start, end=request.end)
    rules = selectors.rules_for_facilities([facility.pk])
    rule = selectors.rule_select(
        rules,
        facility_id=facility.pk,
        zone_id=spot.zone_id if spot else None,
        spot_id=spot.pk if spot else None,
        vehicle_type=request.vehicle_type,
        spot_category=spot.category if spot else None,
        at=request.start,
    )
    if rule is None:
        raise NoApplicableRuleError()
    covered = selectors.pass_coverage(
        driver=request.driver,
        facility=facility,
        vehicle_id=request.vehicle.pk if request.vehicle else None,
        vehicle_type=request.vehicle_type,
        start=request.start,
        end=request.end,
    )
    try:
        priced = quote_stay(
            strategy=rule.strategy,
            config=rule.config,
            start=request.start,
            end=request.end,
            time_zone=facility.timezone,
            context=PricingContext(
                vehicle_type=request.vehicle_type,
                spot_category=spot.category if spot else None,
                occupancy_ratio=_occupancy_ratio(facility, request.start, request.end),
                covered_intervals=tuple(covered),
            ),
            rule_name=rule.name,
        )
    except PricingError as exc:
        raise from_engine(exc) from exc
    discount, discount_value = _discount_for(request, priced.parking_amount)
    service_fee_percent, transaction_fee = selectors.fee_policy_for(facility.organization_id)
    fees = fee_breakdown(
        parking_amount=priced.parking_amount,
        discount_amount=discount_value,
        service_fee_percent=service_fee_percent,
        transaction_fee=transaction_fee,
    )
    explanation = priced.explanation
    if discount is not None:
        explanation += f" Promo code {discount.code}: −{discount_value}."
    return Quote.objects.create(
        organization_id=facility.organization_id,
        facility=facility,
        zone_id=spot.zone_id if spot else None,
        spot=spot,
        driver=request.driver,
        vehicle=request.vehicle,
        vehicle_type=request.vehicle_type,
        start=request.start,
        end=request.end,
        currency=facility.currency,
        parking_amount=fees.parking_amount,
        discount_amount=fees.discount_amount,
        service_fee=fees.service_fee,
        transaction_fee=fees.transaction_fee,
        total=fees.total,
        owner_payout=fees.owner_payout,
        platform_revenue=fees.platform_revenue,
        duration_minutes=int((request.end - request.start).total_seconds() // 60),
        applied_rule=rule,
        applied_rule_name=rule.name,
        subscription_used=priced.subscription_used,
        discount=discount,
        promo_code=discount.code if discount else "",
        line_items=priced.line_items_as_dicts(),
        explanation=explanation,
        expires_at=timezone.now() + QUOTE_TTL,
    )


# ---------------------------------------------------------------------------- discounts and passes


@transaction.atomic
def discount_redeem(*, discount_id: int, user: User, reference: str, amount: int) -> DiscountRedemption:
    """Count one redemption (called when a booking is confirmed). Exactly once per reference, and
    never beyond the total or per-user limits, also under concurrency: the discount row is locked
    (``SELECT … FOR UPDATE``) before the limits are checked; the database constraint
    ``discount_redemptions_within_limit`` is the last line of defence.

    Idempotent: redeeming the same reference again returns the existing redemption.
    """
    discount = Discount.objects.select_for_update().get(pk=discount_id)
    existing = DiscountRedemption.objects.filter(discount=discount, reference=reference).first()
    if existing is not None:
        return existing
    if discount.max_redemptions is not None and discount.redemption_count >= discount.max_redemptions:
        raise DiscountExhaustedError()
    if discount.max_redemptions_per_user is not None:
        used = DiscountRedemption.objects.filter(discount=discount, user=user).count()
        if used >= discount.max_redemptions_per_user:
            raise DiscountExhaustedError("You have already used this promo code.")
    redemption = DiscountRedemption.objects.create(discount=discount, user=user, reference=reference, amount=amount)
    Discount.objects.filter(pk=discount.pk).update(redemption_count=discount.redemption_count + 1)
    return redemption


DISCOUNT_FIELDS = frozenset(
    {
        "code",
        "description",
        "kind",
        "percent",
        "amount",
        "valid_from",
        "valid_until",
        "max_redemptions",
        "max_redemptions_per_user",
        "min_duration_minutes",
        "is_active",
    }
)


def _check_discount(discount: Discount) -> None:
    if discount.kind == DiscountKind.PERCENT and (discount.percent is None or discount.amount is not None):
        raise ApplicationError(
            "A percent discount needs percent (1–100) and no amount.", code="invalid", attr="percent"
        )
    if discount.kind == DiscountKind.FIXED and (discount.amount is None or discount.percent is not None):
        raise ApplicationError("A fixed discount needs amount and no percent.", code="invalid", attr="amount")
    if discount.valid_from and discount.valid_until and discount.valid_from >= discount.valid_until:
        raise ApplicationError("valid_until must be after valid_from.", code="invalid", attr="valid_until")
    clash = Discount.objects.filter(organization_id=discount.organization_id, code__iexact=discount.code)
    if clash.exclude(pk=discount.pk).exists():
        raise ApplicationError("This code already exists in your organization.", code="duplicate_code", attr="code")
    discount.full_clean(validate_constraints=False)


@transaction.atomic
def discount_create(*, organization_id: uuid.UUID, data: dict[str, Any], facilities: list[Facility]) -> Discount:
    discount = Discount(organization_id=organization_id, **{k: v for k, v in data.items() if k in DISCOUNT_FIELDS})
    discount.code = discount.code.strip().upper()
    _check_discount(discount)
    discount.save()
    discount.facilities.set(facilities)
    return discount


@transaction.atomic
def discount_update(*, discount: Discount, data: dict[str, Any], facilities: list[Facility] | None) -> Discount:
    for key, value in data.items():
        if key in DISCOUNT_FIELDS:
            setattr(discount, key, value)
    discount.code = discount.code.strip().upper()
    _check_discount(discount)
    discount.save()
    if facilities is not None:
        discount.facilities.set(facilities)
    return discount


PASS_PRODUCT_FIELDS = frozenset(
    {"name", "period", "price", "vehicle_types", "valid_weekdays", "valid_start_time", "valid_end_time", "is_active"}
)


@transaction.atomic
def pass_product_create(*, facility: Facility, data: dict[str, Any]) -> PassProduct:
    product = PassProduct(
        organization_id=facility.organization_id,
        facility=facility,
        **{k: v for k, v in data.items() if k in PASS_PRODUCT_FIELDS},
    )
    _check_pass_product(product)
    product.save()
    return product


@transaction.atomic
def pass_product_update(*, product: PassProduct, data: dict[str, Any]) -> PassProduct:
    for key, value in data.items():
        if key in PASS_PRODUCT_FIELDS:
            setattr(product, key, value)
    _check_pass_product(product)
    product.save()
    return product


def _check_pass_product(product: PassProduct) -> None:
    if any(day < 0 or day > 6 for day in product.valid_weekdays):
        raise ApplicationError("Weekdays go from 0 (Monday) to 6.", code="invalid", attr="valid_weekdays")
    if (
        product.valid_start_time is not None
        and product.valid_end_time is not None
        and product.valid_start_time >= product.valid_end_time
    ):
        raise ApplicationError("valid_end_time must be after valid_start_time.", code="invalid", attr="valid_end_time")
    product.full_clean(validate_constraints=False)


# ---------------------------------------------------------------------------- passes

PASS_DAYS = {"weekly": 7, "monthly": 30}  # a "month" is 30 days from the start (README: passes)


def pass_create_pending(*, product: PassProduct, driver: User, vehicle: Vehicle | None, start: datetime) -> Pass:
    """A pass waiting for its payment (payments activates it). Validates the product, the vehicle
    (the driver's own, of an allowed type) and the start (not in the past)."""
    if not product.is_active:
        raise ApplicationError("This pass is not on sale.", code="pass_unavailable", attr="product")
    if vehicle is not None:
        if vehicle.owner_id != driver.pk:
            raise ApplicationError("No such vehicle among yours.", code="does_not_exist", attr="vehicle")
        if product.vehicle_types and vehicle.vehicle_type not in product.vehicle_types:
            raise ApplicationError(
                "This pass is not for this vehicle type.", code="vehicle_not_allowed", attr="vehicle"
            )
    if start < timezone.now() - timedelta(minutes=5):
        raise ApplicationError("A pass cannot start in the past.", code="invalid", attr="start")
    return Pass.objects.create(
        product=product,
        driver=driver,
        vehicle=vehicle,
        valid_from=start,
        valid_until=start + timedelta(days=PASS_DAYS[product.period]),
        status=PassStatus.PENDING_PAYMENT,
    )


def pass_activate(*, pass_id: int) -> Pass:
    """Payment received: ``pending_payment`` → ``active`` (idempotent)."""
    with transaction.atomic():
        driver_pass = Pass.objects.select_for_update().get(pk=pass_id)
        if driver_pass.status == PassStatus.PENDING_PAYMENT:
            driver_pass.status = PassStatus.ACTIVE
            driver_pass.save(update_fields=["status"])
    return driver_pass
