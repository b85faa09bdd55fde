from app.exceptions import ApplicationError, ConflictError


class InvalidWindowError(ApplicationError):
    """A requested ``[start, end)`` the facility cannot take; ``attr`` names the offending field."""

    code = "invalid_window"


class FacilityClosedError(InvalidWindowError):
    code = "facility_closed"
    default_message = "The facility is not open for the whole window."


class HasFutureBookingsError(ConflictError):
    code = "has_future_bookings"
    default_message = "It has future active bookings; set it to inactive instead."


class DuplicateSpotCodeError(ApplicationError):
    code = "duplicate_spot_code"
