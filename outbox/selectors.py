"""Reads of the outbox (admin dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils import timezone

from outbox.models import OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class OutboxHealth:
    pending: int
    failed: int
    oldest_pending_at: datetime | None


def outbox_health() -> OutboxHealth:
    """Pending and failed rows, and the creation time of the oldest pending one (one query)."""
    row = OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]).aggregate(
        pending=Count("id", filter=Q(status=OutboxStatus.PENDING)),
        failed=Count("id", filter=Q(status=OutboxStatus.FAILED)),
        oldest=Min("created_at", filter=Q(status=OutboxStatus.PENDING)),
    )
    return OutboxHealth(pending=row["pending"], failed=row["failed"], oldest_pending_at=row["oldest"])


def outbox_due_count() -> int:
    """Pending rows a relay would hand over now."""
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()).count()
