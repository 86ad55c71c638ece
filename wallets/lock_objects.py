"""The ONE way to lock wallets: ``SELECT ... ORDER BY id FOR UPDATE`` in a single query.

Global lock order is ascending primary key. Every service that changes balances locks all the
wallets it touches through these helpers, inside its atomic block, before reading balances, and
holds the locks only for the short write (never across a network call). Because every writer
acquires row locks in the same order, two transfers in opposite directions cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from wallets.models import Wallet


def wallet_lock_queryset(*, condition: Q) -> QuerySet[Wallet]:
    """Wallets matching ``condition``, pre-ordered by pk, locked ``FOR UPDATE`` when evaluated."""
    return Wallet.objects.select_for_update().filter(condition).order_by("pk")


def wallets_lock(*, ids: Iterable[int]) -> dict[int, Wallet]:
    """Lock the wallets with these ids in ascending pk order (one query); map pk -> locked row."""
    return {wallet.pk: wallet for wallet in wallet_lock_queryset(condition=Q(pk__in=sorted(set(ids))))}
