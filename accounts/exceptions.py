"""Domain errors of accounts. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from vaultcore.errors import DomainError


class AccountsError(DomainError):
    """Base class of accounts errors."""
