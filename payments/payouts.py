"""The ONE way a payout is requested: ask the provider for a held withdrawal's payout and book
its answer. Used by the payout task (after the hold committed) and by reconciliation."""

from __future__ import annotations

from ledger.models import LedgerTransaction
from ledger.services.pending import transaction_reference_set
from ledger.services.withdrawals import withdrawal_post, withdrawal_void
from payments.providers import PaymentProvider, PayoutResult, ProviderStatus, get_provider

# Outbox topic of a withdrawal's payout request (registered in PaymentsConfig.ready).
PAYOUT_REQUEST_TOPIC = "payments.payout_request"


def payout_request(*, txn: LedgerTransaction, provider: PaymentProvider | None = None) -> PayoutResult:
    """Request the payout of pending withdrawal ``txn`` (idempotent at the provider on the
    transaction's public id) and book the answer: paid -> posted, refused -> voided (hold
    released), pending -> its reference recorded. Raises ``ProviderError`` when the provider is
    unreachable (nothing booked; the caller retries). Never called under a lock."""
    provider = provider or get_provider()
    result = provider.create_payout(
        transaction_id=txn.public_id,
        amount=txn.amount,
        currency=txn.currency,
        user_id=txn.initiated_by_id or 0,
        bank_account_id=txn.metadata.get("bank_account_id"),
    )
    if result.status == ProviderStatus.SUCCEEDED:
        withdrawal_post(transaction_id=txn.pk, reference=result.reference)
    elif result.status == ProviderStatus.FAILED:
        withdrawal_void(
            transaction_id=txn.pk, reason=result.failure_reason or "payout_failed", reference=result.reference
        )
    else:
        transaction_reference_set(transaction_id=txn.pk, reference=result.reference, provider=provider.name)
    return result
