"""Deposits in the books: a pending transaction, posted (settled) or failed when the payment
provider answers. The provider is called by ``payments.deposits``, outside any lock."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.common import amount_validate, require_active
from ledger.services.pending import pending_fail, pending_post
from ledger.services.posting import Posting, post, retry_on_contention
from wallets.exceptions import WalletNotFound
from wallets.lock_objects import wallet_lock_queryset
from wallets.models import SystemAccount, WalletKind
from wallets.services import currency_validate, system_wallet_get


def deposit_open(
    *, user: User, currency: str, amount: Decimal, idempotency_key: IdempotencyKey | None = None
) -> LedgerTransaction:
    """A pending deposit into the user's active wallet in ``currency`` (provider clearing to be
    debited), bound to ``idempotency_key``. No money moves until ``deposit_settle``."""
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency=currency)
    return _deposit_open(user=user, currency=currency, amount=amount, clearing_id=clearing.pk, key=idempotency_key)


@retry_on_contention
def _deposit_open(
    *, user: User, currency: str, amount: Decimal, clearing_id: int, key: IdempotencyKey | None
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        wallet = wallet_lock_queryset(condition=Q(kind=WalletKind.USER, user=user, currency=currency)).first()
        if wallet is None:
            raise WalletNotFound()
        require_active(wallet)
        now = timezone.now()
        txn = LedgerTransaction(
            public_id=uuid.uuid4(),
            type=TransactionType.DEPOSIT,
            status=TransactionStatus.PENDING,
            currency=currency,
            amount=amount,
            debit_wallet_id=clearing_id,
            credit_wallet=wallet,
            initiated_by=user,
            created_at=now,
        )
        post(postings=[Posting(txn)], now=now, idempotency_key=key)
    return txn


def deposit_settle(*, transaction_id: int, reference: str = "") -> LedgerTransaction:
    """Post a pending deposit: clearing is debited, the user's wallet credited. Idempotent: an
    already posted deposit is returned unchanged; a voided/failed one is refused. Money already
    collected by the provider is credited even to a frozen wallet."""
    return pending_post(transaction_id=transaction_id, txn_type=TransactionType.DEPOSIT, reference=reference)


def deposit_fail(*, transaction_id: int, reason: str = "", reference: str = "") -> LedgerTransaction:
    """Mark a pending deposit failed (the provider rejected it). No money moved."""
    return pending_fail(
        transaction_id=transaction_id, txn_type=TransactionType.DEPOSIT, reason=reason, reference=reference
    )
