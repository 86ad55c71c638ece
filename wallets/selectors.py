"""Reads of wallets: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import User
from vaultcore.db import hot_path_cursor
from wallets.exceptions import WalletNotFound
from wallets.models import Wallet, WalletKind
from wallets.rows import wallet_columns, wallet_from_row


def wallet_list(*, user: User) -> QuerySet[Wallet]:
    """The user's wallets (never system accounts), in currency order."""
    return Wallet.objects.filter(user=user, kind=WalletKind.USER).order_by("currency")


def wallet_get(*, user: User, currency: str) -> Wallet:
    """The user's wallet in ``currency`` or 404 ``wallet_not_found``."""
    wallet = wallet_list(user=user).filter(currency=currency).first()
    if wallet is None:
        raise WalletNotFound()
    return wallet


_BY_PUBLIC_ID_SQL = "SELECT {columns} FROM wallets_wallet w WHERE w.public_id = %s AND w.user_id = %s AND w.kind = %s"


def wallet_get_by_id(*, user: User, public_id: object) -> Wallet:
    """The user's wallet with this public id, or 404 ``wallet_not_found`` (also for another
    user's wallet or a malformed id: never reveals that someone else's wallet exists).

    Every GraphQL money operation starts here, so it is one prepared statement by the unique
    index on ``public_id`` rather than a queryset compiled on every call."""
    parsed = _uuid_or_none(public_id)
    if parsed is None:
        raise WalletNotFound()
    with hot_path_cursor() as cursor:
        cursor.execute(_BY_PUBLIC_ID_SQL.format(columns=wallet_columns()[0]), [parsed, user.pk, WalletKind.USER.value])
        row = cursor.fetchone()
    if row is None:
        raise WalletNotFound()
    return wallet_from_row(row)


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
