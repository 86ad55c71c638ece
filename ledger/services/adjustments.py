"""Staff corrections: a wallet credited from, or debited to, the equity account.

Back-office money operations normally go through maker-checker (``ledger.approvals``), which
posts with ``adjustment_write`` inside its own atomic block; ``adjustment_create`` posts
directly (operators' scripts). Both are audited.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from ledger.exceptions import InvalidAmount
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.common import amount_validate, require_available, require_not_wallet_owner, require_staff
from ledger.services.posting import Posting, legs, post, retry_on_contention
from wallets.lock_objects import wallets_lock
from wallets.models import SystemAccount, Wallet
from wallets.money import format_amount
from wallets.services import system_wallet_get


def adjustment_create(*, acting_user: User, wallet: Wallet, amount: Decimal, reason: str) -> LedgerTransaction:
    """Staff correction: a positive ``amount`` credits the wallet from equity, a negative one
    debits it to equity (never below zero available). Allowed on frozen wallets."""
    require_staff(acting_user)
    amount = amount_validate(amount=amount, currency=wallet.currency, allow_negative=True)
    if not reason.strip():
        raise InvalidAmount("A reason is required for an adjustment.", attr="reason")
    equity = system_wallet_get(code=SystemAccount.EQUITY, currency=wallet.currency)
    return _adjustment_post(acting_user=acting_user, wallet=wallet, equity=equity, amount=amount, reason=reason)


@retry_on_contention
def _adjustment_post(
    *, acting_user: User, wallet: Wallet, equity: Wallet, amount: Decimal, reason: str
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        txn = adjustment_write(acting_user=acting_user, wallet=wallet, equity=equity, amount=amount, reason=reason)
        audit_record(
            actor=acting_user,
            action=AuditAction.ADJUSTMENT_POST,
            target=wallet,
            after={
                "transaction": str(txn.public_id),
                "amount": format_amount(amount, txn.currency),
                "currency": txn.currency,
            },
            reason=reason,
        )
    return txn


def adjustment_write(
    *, acting_user: User, wallet: Wallet, equity: Wallet, amount: Decimal, reason: str
) -> LedgerTransaction:
    """Post an adjustment of ``wallet`` against ``equity`` (``amount`` > 0 credits the wallet,
    < 0 debits it). Call inside an atomic block; locks both wallets (ascending pk) first.
    Keeps: a user wallet's available balance never drops below zero; ``acting_user`` never
    credits a wallet of their own."""
    if amount > 0:
        require_not_wallet_owner(user=acting_user, wallet=wallet)
    locked = wallets_lock(ids=[wallet.pk, equity.pk])
    target, source = locked[wallet.pk], locked[equity.pk]
    debit, credit = (source, target) if amount > 0 else (target, source)
    require_available(debit, abs(amount))
    now = timezone.now()
    txn = LedgerTransaction(
        public_id=uuid.uuid4(),
        type=TransactionType.ADJUSTMENT,
        status=TransactionStatus.POSTED,
        currency=wallet.currency,
        amount=abs(amount),
        debit_wallet=debit,
        credit_wallet=credit,
        description=reason.strip()[:255],
        initiated_by=acting_user,
        created_at=now,
        posted_at=now,
        finalized_at=now,
    )
    post(
        postings=[Posting(txn, legs(debit=debit, credit=credit, amount=abs(amount)))], wallets=[debit, credit], now=now
    )
    return txn
