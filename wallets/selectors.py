"""Reads of wallets: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

import uuid

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


def wallet_get_by_id(*, user: User, public_id: object) -> Wallet:
    """The user's wallet with this public id, or 404 ``wallet_not_found`` (also for another
    user's wallet or a malformed id: never reveals that someone else's wallet exists)."""
    parsed = _uuid_or_none(public_id)
    wallet = None if parsed is None else wallet_list(user=user).filter(public_id=parsed).first()
    if wallet is None:
        raise WalletNotFound()
    return wallet


def wallet_find(*, public_id: object) -> Wallet | None:
    """Any user's wallet by its public id (a transfer's receiver), or None."""
    parsed = _uuid_or_none(public_id)
    if parsed is None:
        return None
    return Wallet.objects.select_related("user").filter(public_id=parsed, kind=WalletKind.USER).first()


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
