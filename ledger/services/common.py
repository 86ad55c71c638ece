"""Checks every money flow shares (made under the wallets' locks where they read balances)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings

from accounts.models import Role, User
from ledger.exceptions import (
    EmailNotVerified,
    InsufficientFunds,
    InvalidAmount,
    LedgerPermissionDenied,
    LimitExceeded,
    SelfDealing,
)
from wallets.exceptions import WalletFrozen
from wallets.models import Wallet, WalletKind, WalletStatus
from wallets.money import ZERO, AmountError, amount_checked


def amount_validate(*, amount: object, currency: str, allow_negative: bool = False) -> Decimal:
    """The exact amount, or 400 on ``amount`` (digits, sign, NaN, exponent, maximum). An amount
    a serializer already parsed for ``currency`` is taken as is."""
    try:
        return amount_checked(amount, currency, allow_negative=allow_negative)
    except AmountError as exc:
        raise InvalidAmount(str(exc)) from exc


def require_verified_email(user: User) -> None:
    if settings.WALLET_REQUIRE_VERIFIED_EMAIL and not user.is_email_verified:
        raise EmailNotVerified()


def require_staff(user: User) -> None:
    if not user.has_role_at_least(Role.STAFF):
        raise LedgerPermissionDenied()


def require_not_wallet_owner(*, user: User | None, wallet: Wallet, detail: str | None = None) -> None:
    """No self-dealing: staff never credit back-office money to a wallet they own (403)."""
    if user is not None and wallet.user_id is not None and wallet.user_id == user.pk:
        raise SelfDealing(detail)


def _daily_limit(user: User) -> Decimal | None:
    limit = settings.WALLET_DAILY_OUTGOING_LIMITS.get(user.role)
    return None if limit in (None, "") else Decimal(str(limit))


def charge_daily_outgoing(*, wallet: Wallet, owner: User, amount: Decimal, today: date) -> None:
    """Count ``amount`` against the owner's daily outgoing limit. Call with ``wallet`` locked."""
    spent = wallet.outgoing_today if wallet.outgoing_day == today else ZERO
    limit = _daily_limit(owner)
    if limit is not None and spent + amount > limit:
        raise LimitExceeded(f"This would exceed your daily outgoing limit of {limit} {wallet.currency}.")
    wallet.outgoing_day = today
    wallet.outgoing_today = spent + amount


def require_active(*wallets: Wallet) -> None:
    for wallet in wallets:
        if wallet.status == WalletStatus.FROZEN:
            raise WalletFrozen()


def require_available(wallet: Wallet, amount: Decimal) -> None:
    """User wallets may not go below zero available; system accounts may go negative."""
    if wallet.kind == WalletKind.USER and wallet.available < amount:
        raise InsufficientFunds()
