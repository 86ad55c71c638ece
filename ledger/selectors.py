"""Reads of ledger: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from accounts.models import User
from ledger.models import LedgerEntry, LedgerTransaction, TransactionStatus, TransactionType
from vaultcore.aggregates import daily_counts
from wallets.models import Wallet, WalletKind
from wallets.money import ZERO


def transaction_list(
    *,
    user: User,
    currency: str | None = None,
    type: str | None = None,
    status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[LedgerTransaction]:
    """The user's transactions, newest first, each annotated with ``my_wallet_id`` and
    ``my_balance_after`` (the user's entry's balance snapshot, null until posted)."""
    wallet_ids = list(Wallet.objects.filter(user=user, kind=WalletKind.USER).values_list("pk", flat=True))
    qs = LedgerTransaction.objects.filter(Q(debit_wallet_id__in=wallet_ids) | Q(credit_wallet_id__in=wallet_ids))
    if currency:
        qs = qs.filter(currency=currency)
    if type:
        qs = qs.filter(type=type)
    if status:
        qs = qs.filter(status=status)
    if created_after is not None:
        qs = qs.filter(created_at__gte=created_after)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    my_entry = LedgerEntry.objects.filter(transaction=OuterRef("pk"), wallet_id__in=wallet_ids)
    return (
        qs.select_related("debit_wallet__user", "credit_wallet__user")
        .annotate(my_balance_after=Subquery(my_entry.values("balance_after")[:1]))
        .order_by("-id")
    )


def transaction_get(*, user: User, public_id: uuid.UUID) -> LedgerTransaction | None:
    """One of the user's transactions, or None (someone else's is as good as missing)."""
    return transaction_list(user=user).filter(public_id=public_id).first()


def ledger_transaction_get(
    *, public_id: uuid.UUID | None = None, reference: str | None = None
) -> LedgerTransaction | None:
    """A transaction by its public id or by the payment provider's reference (for webhooks and
    reconciliation; no ownership check: never expose to an HTTP caller as is)."""
    if public_id is None and not reference:
        return None
    qs = LedgerTransaction.objects.all()
    qs = qs.filter(public_id=public_id) if public_id is not None else qs.filter(reference=reference)
    return qs.first()


@dataclass(frozen=True)
class BalanceAt:
    balance: Decimal
    held: Decimal

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


def wallet_balance_as_of(*, wallet: Wallet, as_of: datetime) -> BalanceAt:
    """The wallet's balance at ``as_of`` (every entry posted at or before it) from the
    ``balance_after`` snapshots, and the funds held then by pending withdrawals."""
    last = (
        LedgerEntry.objects.filter(wallet=wallet, created_at__lte=as_of)
        .order_by("-created_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    held = LedgerTransaction.objects.filter(
        Q(finalized_at__isnull=True) | Q(finalized_at__gt=as_of),
        debit_wallet=wallet,
        type=TransactionType.WITHDRAWAL,
        created_at__lte=as_of,
    ).aggregate(total=Sum("amount"))["total"]
    return BalanceAt(balance=last if last is not None else ZERO, held=held or ZERO)


@dataclass(frozen=True)
class StatementEntry:
    created_at: datetime
    transaction_id: uuid.UUID
    type: str
    direction: str
    amount: Decimal
    balance_after: Decimal
    counterparty: str | None
    description: str


def statement_opening_balance(*, wallet: Wallet, created_after: datetime | None) -> Decimal:
    """Balance just before ``created_after`` (zero without a start)."""
    if created_after is None:
        return ZERO
    last = (
        LedgerEntry.objects.filter(wallet=wallet, created_at__lt=created_after)
        .order_by("-created_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    return last if last is not None else ZERO


def statement_entries(
    *, wallet: Wallet, created_after: datetime | None, created_before: datetime | None, chunk_size: int = 2000
) -> Iterator[StatementEntry]:
    """The wallet's entries in [created_after, created_before), oldest first, streamed from a
    server-side cursor in chunks (a long history never sits in memory)."""
    qs = LedgerEntry.objects.filter(wallet=wallet)
    if created_after is not None:
        qs = qs.filter(created_at__gte=created_after)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    other_leg = LedgerEntry.objects.filter(transaction=OuterRef("transaction")).exclude(wallet=OuterRef("wallet"))
    rows = (
        qs.annotate(counterparty=Subquery(other_leg.values("wallet__user__username")[:1]))
        .order_by("id")
        .values_list(
            "created_at",
            "transaction__public_id",
            "transaction__type",
            "direction",
            "amount",
            "balance_after",
            "counterparty",
            "transaction__description",
        )
    )
    for row in rows.iterator(chunk_size=chunk_size):
        yield StatementEntry(*row)


# --- Back-office dashboard: aggregates, one query each -------------------------------------------
def transaction_daily_volume(*, since: datetime) -> list[Mapping[str, Any]]:
    """Transactions posted at or after ``since``, per UTC day, currency and type: rows of ``day``,
    ``currency``, ``type``, ``n`` and ``total`` (one aggregate query)."""
    return list(
        LedgerTransaction.objects.filter(status=TransactionStatus.POSTED, posted_at__gte=since)
        .annotate(day=TruncDate("posted_at", tzinfo=UTC))
        .values("day", "currency", "type")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("day", "currency", "type")
    )


def transaction_daily_failures(*, since: datetime) -> list[Mapping[str, Any]]:
    """Transactions that ended ``failed`` at or after ``since``, per UTC day: ``day``, ``n``."""
    failed = LedgerTransaction.objects.filter(status=TransactionStatus.FAILED, finalized_at__gte=since)
    return daily_counts(failed, field="finalized_at")


def transaction_pending_by_age(*, now: datetime, older_than: Mapping[str, timedelta]) -> list[Mapping[str, Any]]:
    """Pending deposits and withdrawals per currency and type: ``n`` and ``total``, and for each
    ``name`` of ``older_than`` how many (``name``) and how much (``name_total``) are older than
    its age (one aggregate query)."""
    aggregates: dict[str, Any] = {}
    for name, age in older_than.items():
        old = Q(created_at__lt=now - age)
        aggregates[name] = Count("id", filter=old)
        aggregates[f"{name}_total"] = Sum("amount", filter=old)
    return list(
        LedgerTransaction.objects.filter(
            status=TransactionStatus.PENDING, type__in=[TransactionType.DEPOSIT, TransactionType.WITHDRAWAL]
        )
        .values("currency", "type")
        .annotate(n=Count("id"), total=Sum("amount"), **aggregates)
        .order_by("currency", "type")
    )
