"""Celery tasks of payments: take ids, re-fetch, call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from payments.job_lock import single_run_lock
from payments.services import stripe_event_process, stripe_events_requeue_stale

logger = logging.getLogger("payments")


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def process_stripe_event(event_pk: int) -> str | None:
    """Process one stored Stripe event (database outages are retried with backoff)."""
    event = stripe_event_process(event_id=event_pk)
    return event.status if event is not None else None


@shared_task(soft_time_limit=120, time_limit=180)
def requeue_stale_stripe_events() -> int:
    """Periodic: queue events left ``received`` (e.g. the broker was down when they arrived)."""
    with single_run_lock("payments:requeue-stale-stripe-events", timeout=300) as acquired:
        if not acquired:
            logger.info("requeue_stale_stripe_events skipped: another run holds the lock")
            return 0
        return stripe_events_requeue_stale(older_than_seconds=300)
