"""Reads of payments for the back-office dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import StripeEvent, StripeEventStatus
from payments.selectors import stripe_event_daily_failures, stripe_event_health, stripe_event_list_needing_attention
from payments.tests.factories import StripeEventFactory

pytestmark = pytest.mark.django_db


def test_failed_and_stuck_events_but_not_leased_or_fresh_ones() -> None:
    # given events: failed, received 11 minutes ago, the same but leased to a live worker, fresh
    now = timezone.now()
    failed = StripeEventFactory.create(status=StripeEventStatus.FAILED)
    stuck = StripeEventFactory.create()
    leased = StripeEventFactory.create(locked_until=now + timedelta(minutes=1))
    StripeEventFactory.create()
    StripeEventFactory.create(status=StripeEventStatus.PROCESSED)
    StripeEvent.objects.filter(pk__in=[stuck.pk, leased.pk]).update(received_at=now - timedelta(minutes=11))
    cutoff = now - timedelta(minutes=10)
    # when
    health = stripe_event_health(received_before=cutoff, now=now)
    attention = list(stripe_event_list_needing_attention(received_before=cutoff, now=now))
    # then
    assert (health.failed, health.stuck) == (1, 1)
    assert health.oldest_stuck_at == StripeEvent.objects.get(pk=stuck.pk).received_at
    assert attention == [stuck, failed]
    assert [row["n"] for row in stripe_event_daily_failures(since=now - timedelta(days=1))] == [1]
