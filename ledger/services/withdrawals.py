"""Withdrawals in the books: a hold on the user's wallet, then posted (paid) or voided (failed).
The payout is requested by ``payments.withdrawals``, after the hold committed."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from ledger.exceptions import InvalidTransactionState
from ledger.lock_objects import transaction_lock
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.common import charge_daily_outgoing, require_active, require_available
from ledger.services.pending import pending_post
from ledger.services.posting import Posting, post, retry_on_contention
from wallets.exceptions import WalletNotFound
from wallets.lock_objects import wallet_lock_queryset, wallets_lock
from wallets.models import Wallet, WalletKind
from wallets.money import ZERO


def withdrawal_hold_write(
    *,
    user: User,
    currency: str,
    amount: Decimal,
    clearing: Wallet,
    bank_account_id: str | None,
    idempotency_key: IdempotencyKey | None,
) -> LedgerTransaction:
    """Hold ``amount`` on the user's wallet in ``currency`` (available drops at once): a pending
    withdrawal to ``clearing``. Call inside an atomic block with validated input. Keeps:
    available >= 0; the daily outgoing limit holds."""
    wallet = wallet_lock_queryset(condition=Q(kind=WalletKind.USER, user=user, currency=currency)).first()
    if wallet is None:
        raise WalletNotFound()
    require_active(wallet)
    require_available(wallet, amount)
    now = timezone.now()
    charge_daily_outgoing(wallet=wallet, owner=user, amount=amount, today=now.date())
    wallet.held += amount
    txn = LedgerTransaction(
        public_id=uuid.uuid4(),
        type=TransactionType.WITHDRAWAL,
        status=TransactionStatus.PENDING,
        currency=currency,
        amount=amount,
        debit_wallet=wallet,
        credit_wallet=clearing,
        initiated_by=user,
        metadata={"bank_account_id": str(bank_account_id)} if bank_account_id else {},
        created_at=now,
    )
    post(postings=[Posting(txn)], wallets=[wallet], now=now, idempotency_key=idempotency_key)
    return txn


def withdrawal_post(*, transaction_id: int, reference: str = "") -> LedgerTransaction:
    """The payout was paid: release the hold and post (user debited, clearing credited).
    Idempotent for an already posted withdrawal."""
    return pending_post(transaction_id=transaction_id, txn_type=TransactionType.WITHDRAWAL, reference=reference)


@retry_on_contention
def withdrawal_void(*, transaction_id: int, reason: str = "", reference: str = "") -> LedgerTransaction:
    """The payout failed: release the hold (and the daily limit it used). No money moved.
    Idempotent for an already voided withdrawal."""
    with transaction.atomic(durable=True):
        txn = LedgerTransaction.objects.get(pk=transaction_id, type=TransactionType.WITHDRAWAL)
        wallet = wallets_lock(ids=[txn.debit_wallet_id])[txn.debit_wallet_id]
        txn = transaction_lock(pk=transaction_id)
        if txn.status == TransactionStatus.VOIDED:
            return txn
        if txn.status != TransactionStatus.PENDING:
            raise InvalidTransactionState()
        now = timezone.now()
        wallet.held -= txn.amount
        if wallet.outgoing_day == txn.created_at.date():
            wallet.outgoing_today = max(ZERO, wallet.outgoing_today - txn.amount)
        txn.status = TransactionStatus.VOIDED
        txn.finalized_at = now
        txn.metadata = {**txn.metadata, "void_reason": reason} if reason else txn.metadata
        if reference:
            txn.reference = reference
        post(postings=[Posting(txn)], wallets=[wallet], now=now)
    return txn
