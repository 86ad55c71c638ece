"""Domain errors of audit. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from vaultcore.errors import DomainError


class AuditError(DomainError):
    """Base class of audit errors."""
