"""Scrape-time gauges of the outbox (registered in OutboxConfig.ready): the backlog (pending and
failed rows) and the age of the oldest of each, in one query over the (status, created_at) index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from outbox.models import OutboxMessage, OutboxStatus

_WAITING = (OutboxStatus.PENDING, OutboxStatus.FAILED)


def outbox_backlog_collect() -> Iterator[GaugeMetricFamily]:
    now = timezone.now()
    rows: dict[str, dict[str, Any]] = {
        row["status"]: dict(row)
        for row in OutboxMessage.objects.filter(status__in=_WAITING)
        .values("status")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
        .order_by()
    }
    backlog = GaugeMetricFamily(
        "vaultcore_outbox_messages",
        "Outbox rows not delivered yet: pending (waiting for the relay or a retry) or failed (waiting for "
        "an operator's retry in the admin).",
        labels=["status"],
    )
    oldest = GaugeMetricFamily(
        "vaultcore_outbox_oldest_age_seconds",
        "Age of the oldest outbox row of the status (0 when there is none).",
        labels=["status"],
    )
    for status in _WAITING:
        row = rows.get(status, {})
        backlog.add_metric([str(status)], row.get("count", 0))
        first = row.get("oldest")
        oldest.add_metric([str(status)], (now - first).total_seconds() if first else 0.0)
    yield backlog
    yield oldest
