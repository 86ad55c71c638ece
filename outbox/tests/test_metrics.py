"""The outbox's metrics: rows relayed by outcome, backlog and oldest age at scrape time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from outbox.models import OutboxMessage, OutboxStatus
from outbox.services import outbox_relay
from vaultcore.tests.scrape import counter_value, sample, scraped


@pytest.mark.django_db
def test_backlog_and_oldest_age_by_status(recorded: list[dict[str, Any]]) -> None:
    # given two pending rows (one 10 minutes old), one failed, one sent
    now = timezone.now()
    OutboxMessage.objects.create(topic="tests.record", payload={}, created_at=now - timedelta(minutes=10))
    OutboxMessage.objects.create(topic="tests.record", payload={})
    OutboxMessage.objects.create(topic="tests.record", payload={}, status=OutboxStatus.FAILED)
    OutboxMessage.objects.create(
        topic="tests.record", payload={}, status=OutboxStatus.SENT, created_at=now - timedelta(days=1)
    )
    # when
    samples = scraped()
    # then
    assert sample(samples, "vaultcore_outbox_messages", status="pending") == 2
    assert sample(samples, "vaultcore_outbox_messages", status="failed") == 1
    assert 600 <= sample(samples, "vaultcore_outbox_oldest_age_seconds", status="pending") < 700
    assert sample(samples, "vaultcore_scrape_collector_up", collector="outbox_backlog") == 1


@pytest.mark.django_db
def test_relayed_rows_are_counted_by_topic_and_outcome(recorded: list[dict[str, Any]]) -> None:
    # given
    OutboxMessage.objects.create(topic="tests.record", payload={"n": 1})
    OutboxMessage.objects.create(topic="tests.gone", payload={})
    sent = counter_value("vaultcore_outbox_relayed", topic="tests.record", outcome="sent")
    failed = counter_value("vaultcore_outbox_relayed", topic="tests.gone", outcome="failed")
    # when
    outbox_relay()
    # then
    assert recorded == [{"n": 1}]
    assert counter_value("vaultcore_outbox_relayed", topic="tests.record", outcome="sent") == sent + 1
    assert counter_value("vaultcore_outbox_relayed", topic="tests.gone", outcome="failed") == failed + 1
