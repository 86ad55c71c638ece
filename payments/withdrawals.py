"""Withdrawals to a bank account: the hold is written in the ledger, and the payout requested
after it committed, through the outbox (``payments.tasks.withdrawal_payout_request`` ->
``payouts.payout_request``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import User
from ledger.models import IdempotencyKey, LedgerTransaction
from ledger.services.common import amount_validate, require_verified_email
from ledger.services.posting import retry_on_contention
from ledger.services.withdrawals import withdrawal_hold_write
from outbox.services import outbox_enqueue
from payments.deposits import provider_accepts
from payments.exceptions import InvalidBankAccount
from payments.payouts import PAYOUT_REQUEST_TOPIC
from payments.providers import get_provider
from payments.selectors import bank_account_get
from wallets.models import SystemAccount, Wallet
from wallets.services import currency_validate, system_wallet_get


def withdrawal_fingerprint(data: Mapping[str, Any]) -> dict[str, Any]:
    """A withdrawal's validated input as its idempotency key fingerprints it, whichever API sent it."""
    return {
        "currency": data["currency"],
        "amount": str(data["amount"]),
        "bank_account_id": data.get("bank_account_id"),
    }


def _require_own_bank_account(*, user: User, bank_account_id: str, currency: str) -> None:
    """The payout target is one of the user's active bank accounts in ``currency`` (else 400/404)."""
    try:
        account_id = uuid.UUID(str(bank_account_id))
    except ValueError as exc:
        raise InvalidBankAccount("Not a valid bank account id.") from exc
    account = bank_account_get(owner=user, bank_account_id=account_id)
    if account.currency != currency:
        raise InvalidBankAccount(f"This bank account is in {account.currency}, not {currency}.")


def withdrawal_create(
    *,
    user: User,
    currency: str,
    amount: Decimal,
    bank_account_id: str | None = None,
    idempotency_key: IdempotencyKey | None = None,
) -> LedgerTransaction:
    """Hold ``amount`` on the user's wallet (available drops at once) and, after commit, ask the
    provider for the payout. Keeps: available >= 0; the daily outgoing limit holds."""
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    provider_accepts(get_provider(), amount=amount, currency=currency, purpose="payout")
    if bank_account_id:
        _require_own_bank_account(user=user, bank_account_id=bank_account_id, currency=currency)
    require_verified_email(user)
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency=currency)
    txn = _withdrawal_hold(
        user=user,
        currency=currency,
        amount=amount,
        clearing=clearing,
        bank_account_id=bank_account_id,
        idempotency_key=idempotency_key,
    )
    txn.refresh_from_db()  # the payout may have settled it already (sandbox, eager tasks)
    return txn


@retry_on_contention
def _withdrawal_hold(
    *,
    user: User,
    currency: str,
    amount: Decimal,
    clearing: Wallet,
    bank_account_id: str | None,
    idempotency_key: IdempotencyKey | None,
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        txn = withdrawal_hold_write(
            user=user,
            currency=currency,
            amount=amount,
            clearing=clearing,
            bank_account_id=bank_account_id,
            idempotency_key=idempotency_key,
        )
        # The payout is requested through the outbox: written with the hold, relayed after commit
        # (later, when the broker is down), so a committed hold never loses its payout request.
        outbox_enqueue(topic=PAYOUT_REQUEST_TOPIC, payload={"transaction_id": txn.pk})
    return txn
