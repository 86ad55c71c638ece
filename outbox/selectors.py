"""Reads of the outbox (admin dashboard)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from outbox.models import OutboxMessage, OutboxStatus
from vaultcore.aggregates import daily_counts


@dataclass(frozen=True)
class OutboxHealth:
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    stuck: int = 0  # pending rows created before ``stuck_before``


def outbox_health(*, stuck_before: datetime | None = None) -> OutboxHealth:
    """Pending and failed rows, the creation time of the oldest pending one and, with
    ``stuck_before``, how many pending rows were created before it (one query)."""
    pending = Q(status=OutboxStatus.PENDING)
    stuck = pending & Q(created_at__lt=stuck_before) if stuck_before is not None else Q(pk__in=[])
    row = OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]).aggregate(
        pending=Count("id", filter=pending),
        failed=Count("id", filter=Q(status=OutboxStatus.FAILED)),
        oldest=Min("created_at", filter=pending),
        stuck=Count("id", filter=stuck),
    )
    return OutboxHealth(
        pending=row["pending"], failed=row["failed"], oldest_pending_at=row["oldest"], stuck=row["stuck"]
    )


def outbox_list_needing_attention(*, stuck_before: datetime) -> QuerySet[OutboxMessage]:
    """Failed rows and rows still pending since before ``stuck_before``, oldest first."""
    return OutboxMessage.objects.filter(
        Q(status=OutboxStatus.FAILED) | Q(status=OutboxStatus.PENDING, created_at__lt=stuck_before)
    ).order_by("created_at", "pk")


def outbox_daily_failures(*, since: datetime) -> list[Mapping[str, Any]]:
    """Rows ``failed`` (as last updated) at or after ``since``, per UTC day: ``day``, ``n``."""
    failed = OutboxMessage.objects.filter(status=OutboxStatus.FAILED, updated_at__gte=since)
    return daily_counts(failed, field="updated_at")


def outbox_due_count() -> int:
    """Pending rows a relay would hand over now."""
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()).count()
