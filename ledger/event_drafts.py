"""The events a posting makes: one per user whose wallet it touches, rendered as that user sees
the transaction (the same representation as the REST API), for ``post`` to write with the money."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from events.models import EventType
from events.services import EventDraft
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.serializers import TransactionOutputSerializer
from wallets.models import Wallet, WalletKind

if TYPE_CHECKING:
    from ledger.services.posting import Posting

_STATUS_EVENT = {
    TransactionStatus.PENDING: EventType.TRANSACTION_CREATED,
    TransactionStatus.POSTED: EventType.TRANSACTION_POSTED,
    TransactionStatus.VOIDED: EventType.TRANSACTION_VOIDED,
    TransactionStatus.FAILED: EventType.TRANSACTION_FAILED,
}


def _event_type(txn: LedgerTransaction, *, new: bool) -> EventType | None:
    """A new transaction: created (pending), posted, or reversed (a reversal); a changed one:
    its new status, except a pending one that stays pending (a provider reference): no event."""
    if new:
        if txn.type == TransactionType.REVERSAL and txn.status == TransactionStatus.POSTED:
            return EventType.TRANSACTION_REVERSED
        return _STATUS_EVENT[TransactionStatus(txn.status)]
    if txn.status == TransactionStatus.PENDING:
        return None
    return _STATUS_EVENT[TransactionStatus(txn.status)]


def _wallet(txn: LedgerTransaction, field: str, locked: Mapping[int, Wallet]) -> Wallet:
    """The transaction's wallet, from the locked ones when it is among them (no query)."""
    wallet_id: int = getattr(txn, f"{field}_id")
    wallet = locked.get(wallet_id)
    if wallet is not None:
        setattr(txn, field, wallet)
        return wallet
    result: Wallet = getattr(txn, field)
    return result


def posting_event_drafts(
    *, postings: Sequence[Posting], locked: Mapping[int, Wallet], now: datetime
) -> list[EventDraft]:
    """The events of ``postings`` in order: for each transaction, one per user party."""
    drafts: list[EventDraft] = []
    context: dict[str, object] = {}
    serializer = TransactionOutputSerializer(context=context)
    for posting in postings:
        txn = posting.transaction
        event_type = _event_type(txn, new=txn.pk is None)
        if event_type is None:
            continue
        rendered: dict[str, Any] | None = None
        for field in ("debit_wallet", "credit_wallet"):
            wallet = _wallet(txn, field, locked)
            if wallet.kind != WalletKind.USER or wallet.user_id is None:
                continue
            if rendered is not None and wallet.user_id == drafts[-1].user_id:
                continue  # both sides of one user's transaction: one event
            context["user"] = SimpleNamespace(pk=wallet.user_id)
            if rendered is None:
                rendered = serializer.to_representation(txn)
                view = rendered
            else:
                # The other party: only the fields that depend on who looks differ.
                view = {
                    **rendered,
                    "direction": str(serializer.get_direction(txn)),
                    "balance_after": serializer.get_balance_after(txn),
                    "counterparty": serializer.get_counterparty(txn),
                }
            drafts.append(EventDraft(user_id=wallet.user_id, type=event_type, object=view, created_at=now))
    return drafts
