"""Domain errors of accounts. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place.

Errors raised while authenticating a request subclass DRF's ``AuthenticationFailed`` instead, so
DRF keeps their 401 status and adds the ``WWW-Authenticate`` header.
"""

from rest_framework import exceptions, status

from vaultcore.errors import DomainError


class AccountsError(DomainError):
    """Base class of accounts errors."""


class InvalidEmailToken(AccountsError):
    """An email link token that is malformed, expired, for another purpose or already used."""

    code = "invalid_token"
    default_detail = "This link is invalid, has expired or has already been used."
    attr = "token"


class RoleChangeForbidden(AccountsError):
    """The acting user may not give this role to this user (role hierarchy)."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You may only change users below your own role, to roles below your own, and never yourself."


class UserActionForbidden(AccountsError):
    """The acting user may not act on a user whose role weighs as much as their own, or on themselves."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You may only act on users whose role is below your own."


class TokenRevoked(exceptions.AuthenticationFailed):
    """A JWT issued before the user's sessions were revoked (or of a deactivated user)."""

    default_detail = "This token has been revoked."
    default_code = "token_revoked"


class RefreshTokenInvalid(exceptions.AuthenticationFailed):
    """A refresh token that is malformed, expired, of the wrong type or already used."""

    default_detail = "Token is invalid, expired or already used."
    default_code = "token_not_valid"


class BadCredentials(exceptions.AuthenticationFailed):
    """Unknown user, wrong password or inactive account: one answer for all three."""

    default_detail = "No active account found with the given credentials."
    default_code = "authentication_failed"


class DuplicateValue(AccountsError):
    """A username or email address already used by another account (case-insensitive)."""

    code = "unique"
    default_detail = "A user with this value already exists."


class WeakPassword(AccountsError):
    """A new password refused by Django's password validators."""

    code = "password_invalid"
    default_detail = "This password is too weak."
    attr = "password"


class IncorrectPassword(AccountsError):
    """The current password given to confirm a sensitive change is wrong."""

    code = "incorrect_password"
    default_detail = "The password is incorrect."
    attr = "password"
