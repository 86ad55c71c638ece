"""Scrape-time gauges of the ledger (registered in LedgerConfig.ready): pending deposits and
withdrawals by age, in one aggregated query over the partial index of pending transactions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from ledger.models import LedgerTransaction, TransactionStatus, TransactionType

_PENDING_TYPES = (TransactionType.DEPOSIT, TransactionType.WITHDRAWAL)
# (label, older than, at most this old)
_AGES: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("0-5m", timedelta(0), timedelta(minutes=5)),
    ("5m-1h", timedelta(minutes=5), timedelta(hours=1)),
    ("1h-24h", timedelta(hours=1), timedelta(hours=24)),
    ("24h+", timedelta(hours=24), None),
)


def pending_transactions_collect() -> Iterator[GaugeMetricFamily]:
    now = timezone.now()
    aggregates = {
        label: Count("pk", filter=Q(created_at__lte=now - low) & (Q(created_at__gt=now - high) if high else Q()))
        for label, low, high in _AGES
    }
    rows: dict[str, dict[str, Any]] = {
        row["type"]: dict(row)
        for row in LedgerTransaction.objects.filter(status=TransactionStatus.PENDING, type__in=_PENDING_TYPES)
        .values("type")
        .annotate(oldest=Min("created_at"), **aggregates)
        .order_by()
    }
    count = GaugeMetricFamily(
        "vaultcore_pending_transactions",
        "Pending deposits and withdrawals (payouts) by type and age since created.",
        labels=["type", "age"],
    )
    oldest = GaugeMetricFamily(
        "vaultcore_pending_transaction_oldest_age_seconds",
        "Age of the oldest pending transaction of the type (0 when there is none).",
        labels=["type"],
    )
    for txn_type in _PENDING_TYPES:
        row = rows.get(txn_type, {})
        for label, _, _ in _AGES:
            count.add_metric([str(txn_type), label], row.get(label, 0))
        first = row.get("oldest")
        oldest.add_metric([str(txn_type)], (now - first).total_seconds() if first else 0.0)
    yield count
    yield oldest
