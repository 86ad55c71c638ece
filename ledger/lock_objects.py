"""The ONE way to lock ledger rows (wallets are locked through ``wallets.lock_objects``).

Money services lock wallets first (ascending pk), then the ledger transaction they change;
``ledger.approvals`` documents where an approval row fits in that order.
"""

from __future__ import annotations

from ledger.models import ApprovalRequest, LedgerTransaction


def transaction_lock(*, pk: int) -> LedgerTransaction:
    """Lock one ledger transaction row; always AFTER its wallets."""
    return LedgerTransaction.objects.select_for_update(of=("self",)).get(pk=pk)


def approval_lock(*, pk: int) -> ApprovalRequest:
    """Lock one approval request row."""
    return ApprovalRequest.objects.select_for_update(of=("self",)).get(pk=pk)
