"""Reads of wallets: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from wallets.exceptions import WalletNotFound
from wallets.models import Wallet, WalletKind


def wallet_list(*, user: User) -> QuerySet[Wallet]:
    """The user's wallets (never system accounts), in currency order."""
    return Wallet.objects.filter(user=user, kind=WalletKind.USER).order_by("currency")


def wallet_get(*, user: User, currency: str) -> Wallet:
    """The user's wallet in ``currency`` or 404 ``wallet_not_found``."""
    wallet = wallet_list(user=user).filter(currency=currency).first()
    if wallet is None:
        raise WalletNotFound()
    return wallet
