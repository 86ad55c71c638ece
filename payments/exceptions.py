"""Domain errors of payments. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from vaultcore.errors import DomainError


class PaymentError(DomainError):
    """Base class of payments errors."""
