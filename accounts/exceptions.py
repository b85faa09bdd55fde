from http import HTTPStatus

from app.exceptions import ApplicationError, ConflictError


class DuplicateEmailError(ApplicationError):
    code = "email_taken"
    default_message = "A user with this email already exists."

    def __init__(self) -> None:
        super().__init__(attr="email")


class LastOwnerError(ConflictError):
    code = "last_owner"
    default_message = "An organization must keep at least one owner."


class AlreadyMemberError(ApplicationError):
    code = "already_member"
    default_message = "This user is already a member of the organization."

    def __init__(self) -> None:
        super().__init__(attr="email")


class InvalidCredentialsError(ApplicationError):
    code = "invalid_credentials"
    http_status = HTTPStatus.UNAUTHORIZED
    default_message = "No active account found with the given credentials."


class TokenRefusedError(ApplicationError):
    """Matches simplejwt's own code so clients handle every refused token the same way."""

    code = "token_not_valid"
    http_status = HTTPStatus.UNAUTHORIZED
    default_message = "Token is invalid or expired."
