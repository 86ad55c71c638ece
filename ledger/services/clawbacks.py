"""Provider claw-backs (refunds, disputes) of posted deposits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ledger.exceptions import AlreadyReversed, InvalidAmount, InvalidTransactionState
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.common import amount_validate
from ledger.services.posting import Posting, legs, post, retry_on_contention
from wallets.lock_objects import wallets_lock
from wallets.models import SystemAccount, WalletStatus
from wallets.money import ZERO
from wallets.services import system_wallet_get, wallet_status_write

logger = logging.getLogger("ledger")


@retry_on_contention
def deposit_clawback(
    *,
    transaction_id: int,
    amount: Decimal,
    reason: str,
    on_shortfall: Callable[[LedgerTransaction, LedgerTransaction], None] | None = None,
) -> tuple[LedgerTransaction, LedgerTransaction | None]:
    """The payment provider took back ``amount`` of a posted deposit (refund, dispute): book a
    reversal of it (user wallet debited, provider clearing credited). Returns (reversal, advance).

    If the wallet's available balance does not cover ``amount`` (the user already spent the
    money), the shortfall is first advanced from the receivable system account (an adjustment:
    receivable debited, wallet credited: what the user now owes), so no wallet goes below zero
    and every transaction balances; both are posted together, the wallet is then frozen (audited,
    by the system) until staff resolve it, and ``on_shortfall(reversal, advance)`` runs in the
    same atomic block (e.g. to record why).
    Once per deposit: the unique ``reverses`` link makes a second call raise AlreadyReversed.
    """
    original = LedgerTransaction.objects.get(pk=transaction_id)
    if original.type != TransactionType.DEPOSIT or original.status != TransactionStatus.POSTED:
        raise InvalidTransactionState("Only a posted deposit can be clawed back.")
    if not isinstance(amount, Decimal) or amount <= 0 or amount > original.amount:
        raise InvalidAmount("The claw-back must be positive and at most the deposit's amount.")
    amount = amount_validate(amount=amount, currency=original.currency)
    receivable = system_wallet_get(code=SystemAccount.RECEIVABLE, currency=original.currency)
    with transaction.atomic(durable=True):
        locked = wallets_lock(ids=[original.debit_wallet_id, original.credit_wallet_id, receivable.pk])
        if LedgerTransaction.objects.filter(reverses=original).exists():
            raise AlreadyReversed()
        wallet, clearing, owed = (
            locked[original.credit_wallet_id],
            locked[original.debit_wallet_id],
            locked[receivable.pk],
        )
        covered = min(amount, max(ZERO, wallet.available))
        shortfall = amount - covered
        now = timezone.now()
        label = (reason.strip() or "Provider claw-back")[:120]

        def posted(**fields: object) -> LedgerTransaction:
            return LedgerTransaction(
                public_id=uuid.uuid4(),
                status=TransactionStatus.POSTED,
                currency=original.currency,
                initiated_by=None,
                created_at=now,
                posted_at=now,
                finalized_at=now,
                **fields,
            )

        postings = []
        advance = None
        if shortfall > 0:
            advance = posted(
                type=TransactionType.ADJUSTMENT,
                amount=shortfall,
                debit_wallet=owed,
                credit_wallet=wallet,
                description=f"Receivable: unpaid part of {label} of deposit {original.public_id}"[:255],
            )
            postings.append(Posting(advance, legs(debit=owed, credit=wallet, amount=shortfall)))
        reversal = posted(
            type=TransactionType.REVERSAL,
            amount=amount,
            debit_wallet=wallet,
            credit_wallet=clearing,
            description=f"{label} of deposit {original.public_id}"[:255],
            reverses=original,
        )
        postings.append(Posting(reversal, legs(debit=wallet, credit=clearing, amount=amount)))
        post(postings=postings, wallets=list(locked.values()), now=now)
        if advance is not None:
            wallet_status_write(
                actor=None,
                wallet=wallet,
                status=WalletStatus.FROZEN,
                reason=f"Claw-back of deposit {original.public_id} left {shortfall} {original.currency} owed.",
            )
            logger.warning(
                "deposit %s clawed back with a shortfall of %s %s: wallet %s frozen",
                original.public_id,
                shortfall,
                original.currency,
                wallet.public_id,
            )
            if on_shortfall is not None:
                on_shortfall(reversal, advance)
    return reversal, advance
