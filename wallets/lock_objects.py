"""The ONE way to lock wallets: ``SELECT ... ORDER BY id FOR UPDATE`` in a single query.

Global lock order is ascending primary key. Every service that changes balances locks all the
wallets it touches through these helpers, inside its atomic block, before reading balances, and
holds the locks only for the short write (never across a network call). Because every writer
acquires row locks in the same order, two transfers in opposite directions cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.validators import UserIdentifier
from vaultcore.db import hot_path_cursor
from wallets.models import Wallet
from wallets.rows import wallet_columns, wallet_from_row


def wallet_lock_queryset(*, condition: Q) -> QuerySet[Wallet]:
    """Wallets matching ``condition``, pre-ordered by pk, locked ``FOR UPDATE`` when evaluated."""
    return Wallet.objects.select_for_update().filter(condition).order_by("pk")


def wallets_lock(*, ids: Iterable[int]) -> dict[int, Wallet]:
    """Lock the wallets with these ids in ascending pk order (one query); map pk -> locked row."""
    return {wallet.pk: wallet for wallet in wallet_lock_queryset(condition=Q(pk__in=sorted(set(ids))))}


_TRANSFER_LOCK_SQL = """
    SELECT {columns}, u.username, u.email
      FROM wallets_wallet w JOIN accounts_user u ON u.id = w.user_id
     WHERE w.kind = 'user' AND w.currency = %(currency)s
       AND w.user_id IN (%(sender)s, (
               SELECT r.id FROM accounts_user r WHERE LOWER(r.{field}) = %(folded)s AND r.is_active))
     ORDER BY w.id
       FOR UPDATE OF w
"""


# The identifier's field -> its column (only these two are ever put into the SQL text).
_RECIPIENT_COLUMNS = {"username": "username", "email": "email"}


@dataclass(frozen=True)
class LockedUserWallet:
    wallet: Wallet
    username: str
    email: str


def transfer_wallets_lock(*, sender_id: int, recipient: UserIdentifier, currency: str) -> list[LockedUserWallet]:
    """The sender's user wallet in ``currency`` and the one of the active user ``recipient``
    names (its username or email, case-insensitive, by the unique index of that column), found
    AND locked by ONE query, ascending pk, ``FOR UPDATE`` of the wallet rows only.

    The hot path of a transfer: one round trip instead of a recipient lookup plus a lock query.
    Returns 0, 1 or 2 rows; the caller works out which one is missing (and why) on its error path.
    """
    columns, attnames = wallet_columns()
    sql = _TRANSFER_LOCK_SQL.format(columns=columns, field=_RECIPIENT_COLUMNS[recipient.field])
    with hot_path_cursor() as cursor:
        cursor.execute(sql, {"currency": currency, "sender": sender_id, "folded": recipient.value})
        rows = cursor.fetchall()
    n = len(attnames)
    return [LockedUserWallet(wallet=wallet_from_row(row), username=row[n], email=row[n + 1]) for row in rows]
