"""Celery tasks of payments: take ids, re-fetch, call a service."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from payments.exceptions import JobLockUnavailable
from payments.job_lock import single_run_lock
from payments.payouts import payout_request
from payments.providers import ProviderError
from payments.reconciliation import payments_reconcile
from payments.services import stripe_event_process, stripe_events_requeue_stale

logger = logging.getLogger("payments")


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    # Below the event's lease (STRIPE_EVENT_LEASE, 40 s): a run never outlives its claim.
    soft_time_limit=30,
    time_limit=35,
)
def process_stripe_event(event_pk: int) -> str | None:
    """Process one stored Stripe event (database outages are retried with backoff). Handed over by
    the outbox relay; queued again by the sweep below when its worker died."""
    event = stripe_event_process(event_id=event_pk)
    return event.status if event is not None else None


@shared_task(soft_time_limit=10, time_limit=15)
def requeue_stale_stripe_events() -> int:
    """Periodic (every 15 s): queue again events left ``received`` whose worker died (lease
    expired) or whose task was lost; with the 40 s lease an event is picked up within a minute."""
    with single_run_lock("payments:requeue-stale-stripe-events", timeout=15) as acquired:
        if not acquired:
            logger.info("requeue_stale_stripe_events skipped: another run holds the lock")
            return 0
        return stripe_events_requeue_stale(older_than_seconds=30)


@shared_task(soft_time_limit=600, time_limit=900)
def reconcile_payments() -> dict[str, object] | None:
    """Periodic: settle stale pending Stripe deposits/withdrawals (one run at a time)."""
    if settings.PAYMENTS_PROVIDER != "stripe":
        return None
    try:
        report = payments_reconcile()
    except JobLockUnavailable:
        logger.info("reconcile_payments skipped: another run holds the lock (or Redis is unreachable)")
        return None
    return {k: v for k, v in report.as_dict().items() if k != "outcomes"}


# Named as before it moved here, so payout requests queued by an older release still run.
@shared_task(bind=True, max_retries=8, acks_late=True, name="ledger.tasks.withdrawal_payout_request")
def withdrawal_payout_request(self: Task, transaction_id: int) -> str:
    """Ask the provider to pay out a held withdrawal (runs after the hold committed; no lock is
    held during the call); an unreachable provider is retried with backoff."""
    txn = LedgerTransaction.objects.filter(
        pk=transaction_id, type=TransactionType.WITHDRAWAL, status=TransactionStatus.PENDING
    ).first()
    if txn is None:
        return "not-pending"
    try:
        result = payout_request(txn=txn)
    except ProviderError as exc:
        logger.warning("payout of withdrawal %s: provider unavailable, retrying", txn.public_id)
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc
    return str(result.status)
