from app.exceptions import ApplicationError, ConflictError

from .schemas import PricingError


class NoApplicableRuleError(ConflictError):
    """No active rule prices this spot/vehicle/window: it cannot be booked (never a zero price)."""

    code = "no_pricing_rule"
    default_message = "No price is set for this spot, vehicle and time; it cannot be booked."


class InvalidPromoCodeError(ApplicationError):
    code = "invalid_promo_code"
    default_message = "This promo code is not valid for this booking."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, attr="promo_code")


class DiscountExhaustedError(ConflictError):
    code = "discount_exhausted"
    default_message = "This promo code has been used up."


def from_engine(error: PricingError, *, prefix: str | None = None) -> ApplicationError:
    """The engine's errors (pure Python) as API errors, keeping code and field path."""
    attr = error.attr
    if prefix and attr:
        attr = f"{prefix}.{attr}" if not attr.startswith(prefix) else attr
    return ApplicationError(error.message, code=error.code, attr=attr)
