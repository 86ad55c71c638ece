"""Reads of the outbox for the back-office dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from outbox.models import OutboxMessage, OutboxStatus
from outbox.selectors import outbox_daily_failures, outbox_health, outbox_list_needing_attention

pytestmark = pytest.mark.django_db


def test_stuck_and_failed_rows_are_counted_and_listed_oldest_first() -> None:
    # given a failed row, a row pending for 11 minutes, a fresh one and an old sent one
    now = timezone.now()
    failed = OutboxMessage.objects.create(topic="t", payload={}, status=OutboxStatus.FAILED)
    stuck = OutboxMessage.objects.create(topic="t", payload={}, created_at=now - timedelta(minutes=11))
    OutboxMessage.objects.create(topic="t", payload={})
    OutboxMessage.objects.create(topic="t", payload={}, status=OutboxStatus.SENT, created_at=now - timedelta(days=1))
    cutoff = now - timedelta(minutes=10)
    # when
    health = outbox_health(stuck_before=cutoff)
    attention = list(outbox_list_needing_attention(stuck_before=cutoff))
    # then
    assert (health.pending, health.failed, health.stuck) == (2, 1, 1)
    assert health.oldest_pending_at == stuck.created_at
    assert attention == [stuck, failed]
    assert outbox_health().stuck == 0  # without a cutoff nothing is called stuck
    assert [(row["day"], row["n"]) for row in outbox_daily_failures(since=now - timedelta(days=1))] == [
        (timezone.now().date(), 1)
    ]
