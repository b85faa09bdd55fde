from app.exceptions import ApplicationError, ConflictError


class SpotUnavailableError(ConflictError):
    code = "spot_unavailable"
    default_message = "The spot is not available for this window."


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"


class QuoteExpiredError(ApplicationError):
    code = "quote_expired"
    default_message = "The quote has expired; ask for a new one."

    def __init__(self) -> None:
        super().__init__(attr="quote_id", http_status=409)


class QuoteMismatchError(ApplicationError):
    code = "quote_mismatch"
    default_message = "The quote was made for another facility, spot, vehicle or window."

    def __init__(self) -> None:
        super().__init__(attr="quote_id")


class VehicleDoesNotFitError(ApplicationError):
    code = "vehicle_does_not_fit"
    default_message = "This vehicle does not fit the spot."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, attr="spot")
