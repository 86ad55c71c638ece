"""Writes of wallets: every state change goes through a function here.

Balances are never written here: they change only through the ledger's money services
(``ledger.services``), which post balanced entries.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import Role, User
from wallets.exceptions import UnsupportedCurrency, WalletExists, WalletPermissionDenied
from wallets.lock_objects import wallet_lock_queryset
from wallets.models import SystemAccount, Wallet, WalletKind, WalletStatus
from wallets.money import CurrencyError, validate_currency


def currency_validate(*, currency: object) -> str:
    """The enabled currency code, or 400 ``unsupported_currency``."""
    try:
        return validate_currency(currency)
    except CurrencyError as exc:
        raise UnsupportedCurrency(str(exc)) from exc


@transaction.atomic(durable=True)
def wallet_create(*, user: User, currency: str) -> Wallet:
    """Open the user's wallet in ``currency`` (zero balance). One per user per currency: the
    unique constraint decides races; the loser gets 409 ``wallet_exists``."""
    currency = currency_validate(currency=currency)
    if Wallet.objects.filter(user=user, currency=currency).exists():
        raise WalletExists()
    try:
        with transaction.atomic():
            return Wallet.objects.create(kind=WalletKind.USER, user=user, currency=currency)
    except IntegrityError as exc:
        raise WalletExists() from exc


def system_wallet_get(*, code: SystemAccount, currency: str) -> Wallet:
    """The system account ``code`` in ``currency``, created on first use (race-safe)."""
    wallet, _ = Wallet.objects.get_or_create(
        system_code=code, currency=currency, defaults={"kind": WalletKind.SYSTEM, "user": None}
    )
    return wallet


def _wallet_set_status(*, acting_user: User, wallet: Wallet, status: WalletStatus) -> Wallet:
    if not acting_user.has_role_at_least(Role.STAFF):
        raise WalletPermissionDenied()
    with transaction.atomic(durable=True):
        # Under the same lock as money services, so a transfer sees the status it was decided on.
        locked = wallet_lock_queryset(condition=Q(pk=wallet.pk)).get()
        if locked.status != status:
            locked.status = status
            locked.save(update_fields=["status", "updated_at"])
    return locked


def wallet_freeze(*, acting_user: User, wallet: Wallet) -> Wallet:
    """Freeze a wallet (staff+): it can neither send nor receive until unfrozen."""
    return _wallet_set_status(acting_user=acting_user, wallet=wallet, status=WalletStatus.FROZEN)


def wallet_unfreeze(*, acting_user: User, wallet: Wallet) -> Wallet:
    """Unfreeze a wallet (staff+)."""
    return _wallet_set_status(acting_user=acting_user, wallet=wallet, status=WalletStatus.ACTIVE)
