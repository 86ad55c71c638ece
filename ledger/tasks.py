"""Celery tasks of ledger: take ids, re-fetch, call a service."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from ledger.idempotency import idempotency_keys_delete_expired
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.services import transaction_reference_set, withdrawal_post, withdrawal_void
from payments.providers import ProviderError, ProviderStatus, get_provider

logger = logging.getLogger("ledger.tasks")


@shared_task(bind=True, max_retries=8, acks_late=True)
def withdrawal_payout_request(self: Task, transaction_id: int) -> str:
    """Ask the provider to pay out a held withdrawal (runs after the hold committed; no lock is
    held during the call). The provider call is idempotent on the transaction's public id."""
    txn = LedgerTransaction.objects.filter(
        pk=transaction_id, type=TransactionType.WITHDRAWAL, status=TransactionStatus.PENDING
    ).first()
    if txn is None:
        return "not-pending"
    provider = get_provider()
    try:
        result = provider.create_payout(
            transaction_id=txn.public_id,
            amount=txn.amount,
            currency=txn.currency,
            user_id=txn.initiated_by_id or 0,
            bank_account_id=txn.metadata.get("bank_account_id"),
        )
    except ProviderError as exc:
        logger.warning("payout of withdrawal %s: provider unavailable, retrying", txn.public_id)
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc
    if result.status == ProviderStatus.SUCCEEDED:
        withdrawal_post(transaction_id=txn.pk, reference=result.reference)
    elif result.status == ProviderStatus.FAILED:
        withdrawal_void(
            transaction_id=txn.pk, reason=result.failure_reason or "payout_failed", reference=result.reference
        )
    else:
        transaction_reference_set(transaction_id=txn.pk, reference=result.reference, provider=provider.name)
    return str(result.status)


@shared_task
def idempotency_keys_cleanup() -> int:
    """Delete idempotency keys older than ``IDEMPOTENCY_KEY_TTL_HOURS`` (at least 24 h)."""
    deleted = idempotency_keys_delete_expired()
    if deleted:
        logger.info("deleted %d expired idempotency keys", deleted)
    return deleted
