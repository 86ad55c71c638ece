"""Domain errors of ledger. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from vaultcore.errors import DomainError


class LedgerError(DomainError):
    """Base class of ledger errors."""
