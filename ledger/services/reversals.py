"""Reversals: a posted transaction undone by an opposite one (never by editing it)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from ledger.exceptions import AlreadyReversed, InvalidTransactionState
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.common import require_available, require_not_wallet_owner, require_staff
from ledger.services.posting import Posting, legs, post, retry_on_contention
from wallets.lock_objects import wallets_lock
from wallets.money import format_amount


def transaction_reverse(*, acting_user: User | None, transaction_id: int, reason: str = "") -> LedgerTransaction:
    """Undo a posted transaction with an opposite one. Once only: the database's unique
    ``reverses`` link backs the check made under the wallets' locks.

    ``acting_user`` must be staff or heavier; ``None`` means the system itself (a payment
    provider's event, e.g. a refund), never an HTTP caller. The wallet it debits must cover the
    amount (422 ``insufficient_funds`` otherwise)."""
    if acting_user is not None:
        require_staff(acting_user)
    return _reversal_post(acting_user=acting_user, transaction_id=transaction_id, reason=reason)


@retry_on_contention
def _reversal_post(*, acting_user: User | None, transaction_id: int, reason: str) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        txn = reversal_write(acting_user=acting_user, transaction_id=transaction_id, reason=reason)
        assert txn.reverses is not None
        audit_record(
            actor=acting_user,
            action=AuditAction.REVERSAL_POST,
            target=txn.reverses,
            after={
                "reversal": str(txn.public_id),
                "amount": format_amount(txn.amount, txn.currency),
                "currency": txn.currency,
            },
            reason=reason,
        )
    return txn


def reversal_write(*, acting_user: User | None, transaction_id: int, reason: str) -> LedgerTransaction:
    """Post the reversal of posted transaction ``transaction_id``. Call inside an atomic block;
    locks both wallets (ascending pk) before checking. Keeps: at most one reversal per
    transaction; the debited wallet's available balance never drops below zero; ``acting_user``
    never credits a wallet of their own (the reversal credits the original's debited wallet)."""
    original = LedgerTransaction.objects.get(pk=transaction_id)
    if original.status != TransactionStatus.POSTED or original.type == TransactionType.REVERSAL:
        raise InvalidTransactionState("Only a posted, non-reversal transaction can be reversed.")
    locked = wallets_lock(ids=[original.debit_wallet_id, original.credit_wallet_id])
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise AlreadyReversed()
    debit, credit = locked[original.credit_wallet_id], locked[original.debit_wallet_id]
    require_not_wallet_owner(
        user=acting_user, wallet=credit, detail="You cannot reverse a transaction into your own wallet."
    )
    require_available(debit, original.amount)
    now = timezone.now()
    txn = LedgerTransaction(
        public_id=uuid.uuid4(),
        type=TransactionType.REVERSAL,
        status=TransactionStatus.POSTED,
        currency=original.currency,
        amount=original.amount,
        debit_wallet=debit,
        credit_wallet=credit,
        description=(reason.strip() or f"Reversal of {original.public_id}")[:255],
        initiated_by=acting_user,
        reverses=original,
        created_at=now,
        posted_at=now,
        finalized_at=now,
    )
    post(
        postings=[Posting(txn, legs(debit=debit, credit=credit, amount=original.amount))],
        wallets=[debit, credit],
        now=now,
    )
    return txn
