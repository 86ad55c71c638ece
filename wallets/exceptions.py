"""Domain errors of wallets. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from vaultcore.errors import DomainError


class WalletError(DomainError):
    """Base class of wallets errors."""
