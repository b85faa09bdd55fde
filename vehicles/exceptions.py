"""Vehicle domain errors. None of them ever carries the plate value (ARCHITECTURE §7)."""

from app.exceptions import ApplicationError, ConflictError


class InvalidPlateError(ApplicationError):
    """A plate that is empty, too long or has other characters than letters and digits once normalised."""

    code = "invalid_plate"
    default_message = "Enter a valid licence plate."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, attr="plate")


class DuplicatePlateError(ApplicationError):
    code = "duplicate_plate"
    default_message = "You already have a vehicle with this licence plate."

    def __init__(self) -> None:
        super().__init__(attr="plate")


class InvalidCountryError(ApplicationError):
    code = "invalid_country"
    default_message = "Enter an ISO 3166-1 alpha-2 country code, such as DE or IN."

    def __init__(self) -> None:
        super().__init__(attr="country")


class DefaultVehicleRequiredError(ApplicationError):
    """Unsetting ``is_default`` on the default vehicle would leave the driver without one."""

    code = "default_required"
    default_message = "One vehicle must stay the default: make another vehicle the default instead."

    def __init__(self) -> None:
        super().__init__(attr="is_default")


class DefaultVehicleConflictError(ConflictError):
    """A write outside the service raced the one-default constraint (should not happen through services)."""

    code = "default_vehicle_conflict"
    default_message = "Another change to your vehicles happened at the same time; retry."


class PlateDecryptionError(Exception):
    """A stored plate could not be decrypted with any key in ``PLATE_ENCRYPTION_KEYS``.

    A server-side fault (wrong, missing or rotated-out key, or a corrupted value), so it is not an
    ``ApplicationError``: it becomes a 500 and must be fixed by an operator. It is raised instead of
    ever handing the ciphertext back as if it were the plate. The message names neither the plate
    nor the ciphertext.
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or (
                "A stored licence plate could not be decrypted with any key in PLATE_ENCRYPTION_KEYS "
                "(wrong or removed key, or a corrupted value)."
            )
        )
