"""Pending deposits and withdrawals: posted, voided or failed once the provider answers."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ledger.exceptions import InvalidTransactionState
from ledger.lock_objects import transaction_lock
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.posting import Posting, legs, post, retry_on_contention
from wallets.lock_objects import wallets_lock


@retry_on_contention
def pending_post(*, transaction_id: int, txn_type: TransactionType, reference: str) -> LedgerTransaction:
    """Post a pending deposit or withdrawal: write its entries, apply them to both wallets and,
    for a withdrawal, release the hold it took. Keeps: posted at most once (an already posted
    one is returned unchanged); voided/failed ones are refused; locks wallets before the row."""
    with transaction.atomic(durable=True):
        txn = LedgerTransaction.objects.get(pk=transaction_id, type=txn_type)
        locked = wallets_lock(ids=[txn.debit_wallet_id, txn.credit_wallet_id])
        txn = transaction_lock(pk=transaction_id)
        if txn.status == TransactionStatus.POSTED:
            return txn
        if txn.status != TransactionStatus.PENDING:
            raise InvalidTransactionState()
        debit, credit = locked[txn.debit_wallet_id], locked[txn.credit_wallet_id]
        now = timezone.now()
        if txn_type == TransactionType.WITHDRAWAL:
            debit.held -= txn.amount
        txn.status = TransactionStatus.POSTED
        txn.posted_at = txn.finalized_at = now
        if reference:
            txn.reference = reference
        post(
            postings=[Posting(txn, legs(debit=debit, credit=credit, amount=txn.amount))],
            wallets=[debit, credit],
            now=now,
        )
    return txn


@retry_on_contention
def pending_fail(*, transaction_id: int, txn_type: TransactionType, reason: str, reference: str) -> LedgerTransaction:
    """Mark a pending transaction failed (no money moved). Idempotent for a failed one."""
    with transaction.atomic(durable=True):
        txn = transaction_lock(pk=transaction_id)
        if txn.type != txn_type:
            raise InvalidTransactionState()
        if txn.status == TransactionStatus.FAILED:
            return txn
        if txn.status != TransactionStatus.PENDING:
            raise InvalidTransactionState()
        now = timezone.now()
        txn.status = TransactionStatus.FAILED
        txn.finalized_at = now
        if reason:
            txn.metadata = {**txn.metadata, "failure_reason": reason}
        if reference:
            txn.reference = reference
        post(postings=[Posting(txn)], now=now)
    return txn


@transaction.atomic(durable=True)
def transaction_reference_set(*, transaction_id: int, reference: str, provider: str) -> LedgerTransaction:
    """Record the provider's id of the payment/payout of a still pending transaction."""
    txn = transaction_lock(pk=transaction_id)
    if txn.status != TransactionStatus.PENDING:
        return txn
    txn.reference = reference
    txn.metadata = {**txn.metadata, "provider": provider}
    post(postings=[Posting(txn)], now=timezone.now())
    return txn
