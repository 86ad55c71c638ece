"""Deposits through the payment provider: a pending deposit in the ledger, then the payment
requested from the provider OUTSIDE any lock, then settled, failed or left pending."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from accounts.models import User
from ledger.exceptions import InvalidAmount
from ledger.models import IdempotencyKey, LedgerTransaction
from ledger.services.common import amount_validate
from ledger.services.deposits import deposit_fail, deposit_open, deposit_settle
from ledger.services.pending import transaction_reference_set
from payments.exceptions import ProviderUnavailable
from payments.providers import PaymentProvider, PaymentResult, ProviderError, ProviderStatus, get_provider
from wallets.services import currency_validate

logger = logging.getLogger("payments")


def deposit_fingerprint(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deposit's validated input as its idempotency key fingerprints it, whichever API sent it."""
    return {"currency": data["currency"], "amount": str(data["amount"])}


def provider_accepts(provider: PaymentProvider, *, amount: Decimal, currency: str, purpose: str) -> None:
    """400 on ``amount`` when the payment provider cannot move it (before anything is written)."""
    problem = provider.amount_problem(amount=amount, currency=currency, purpose=purpose)
    if problem:
        raise InvalidAmount(problem)


def deposit_create(
    *, user: User, currency: str, amount: Decimal, idempotency_key: IdempotencyKey | None = None
) -> tuple[LedgerTransaction, PaymentResult]:
    """Open a pending deposit, then ask the payment provider for the payment (outside any lock).

    The provider answers succeeded (sandbox: posted at once), pending (e.g. Stripe: the client
    completes the payment and a webhook calls ``deposit_settle``/``deposit_fail``) or failed; an
    unreachable provider fails the deposit and answers 503 (the key is then released).
    """
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    provider = get_provider()
    provider_accepts(provider, amount=amount, currency=currency, purpose="payment")
    txn = deposit_open(user=user, currency=currency, amount=amount, idempotency_key=idempotency_key)
    try:
        result = provider.create_payment(
            transaction_id=txn.public_id, amount=amount, currency=currency, user_id=user.pk
        )
    except ProviderError as exc:
        logger.warning("deposit %s: provider %s unavailable", txn.public_id, provider.name)
        deposit_fail(transaction_id=txn.pk, reason="provider_unavailable")
        raise ProviderUnavailable() from exc
    if result.status == ProviderStatus.SUCCEEDED:
        txn = deposit_settle(transaction_id=txn.pk, reference=result.reference)
    elif result.status == ProviderStatus.FAILED:
        txn = deposit_fail(transaction_id=txn.pk, reason=result.failure_reason, reference=result.reference)
    else:
        txn = transaction_reference_set(transaction_id=txn.pk, reference=result.reference, provider=provider.name)
    return txn, result
