"""Domain errors of wallets. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from rest_framework import status

from vaultcore.errors import DomainError


class WalletError(DomainError):
    """Base class of wallets errors."""


class UnsupportedCurrency(WalletError):
    """The currency is unknown or not enabled."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "unsupported_currency"
    default_detail = "Unsupported currency."
    attr = "currency"


class WalletExists(WalletError):
    """The user already has a wallet in this currency."""

    status_code = status.HTTP_409_CONFLICT
    code = "wallet_exists"
    default_detail = "You already have a wallet in this currency."


class WalletNotFound(WalletError):
    """The caller has no wallet in this currency."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "wallet_not_found"
    default_detail = "You have no wallet in this currency."


class WalletFrozen(WalletError):
    """A frozen wallet can neither send nor receive."""

    status_code = status.HTTP_423_LOCKED
    code = "wallet_frozen"
    default_detail = "The wallet is frozen."


class WalletPermissionDenied(WalletError):
    """The acting user's role does not allow this wallet operation."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class ReasonRequired(WalletError):
    """Freezing or unfreezing a wallet needs a written reason (it is audited)."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "required"
    default_detail = "A reason is required."
    attr = "reason"
