"""P2P transfers: one posted transaction between two users' wallets."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.validators import UserIdentifier, identifier_is_unambiguous, user_identifier
from ledger.exceptions import CurrencyMismatch, RecipientNotFound, SelfTransfer
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.common import (
    amount_validate,
    charge_daily_outgoing,
    require_active,
    require_available,
    require_verified_email,
)
from ledger.services.posting import Posting, legs, post, retry_on_contention
from wallets.exceptions import WalletNotFound
from wallets.lock_objects import transfer_wallets_lock
from wallets.models import Wallet
from wallets.selectors import wallet_find
from wallets.services import currency_validate


def _recipient_resolve(identifier: UserIdentifier) -> User:
    """The active user ``identifier`` names (LOWER(...) = x: the case-insensitive unique index)."""
    user = (
        User.objects.alias(folded=Lower(identifier.field))
        .filter(folded=identifier.value, is_active=True)
        .only("pk", "username", "email")
        .first()
    )
    if user is None:
        raise RecipientNotFound()
    return user


def transfer_recipient_of_wallet(*, wallet_public_id: str, currency: str) -> str:
    """The recipient (username) of a transfer in ``currency`` addressed to a receiving wallet by its
    public id (GraphQL's ``receiverWalletId``): an unknown id is ``recipient_not_found``, a wallet in
    another currency ``currency_mismatch`` (the money would otherwise land in the owner's wallet of
    ``currency``, not the one named), both on ``receiver_wallet_id``."""
    receiver = wallet_find(public_id=wallet_public_id)
    if receiver is None or receiver.user is None:
        raise RecipientNotFound(attr="receiver_wallet_id")
    if receiver.currency != currency:
        raise CurrencyMismatch(attr="receiver_wallet_id")
    return receiver.user.username


def transfer_fingerprint(data: Mapping[str, Any]) -> dict[str, Any]:
    """A transfer's validated input as its idempotency key fingerprints it, whichever API sent it
    (REST and GraphQL call this, so one key replays across both)."""
    return {
        "recipient": data["recipient"],
        "currency": data["currency"],
        "amount": str(data["amount"]),
        "description": data.get("description", ""),
    }


def transfer_create(
    *,
    sender: User,
    recipient: str,
    currency: str,
    amount: Decimal,
    description: str = "",
    idempotency_key: IdempotencyKey | None = None,
) -> LedgerTransaction:
    """Move ``amount`` from the sender's wallet to the recipient's wallet in ``currency``.

    Keeps: the sender's available balance never drops below zero; both wallets are active;
    the sender's daily outgoing limit holds; one posted transaction with a balanced
    debit/credit pair. ``recipient`` is a username or an email address. The outcome is recorded
    on ``idempotency_key`` with the money (nothing to write after the commit).
    """
    currency = currency_validate(currency=currency)
    amount = amount_validate(amount=amount, currency=currency)
    identifier = user_identifier(recipient)
    if not identifier_is_unambiguous(identifier.value):
        raise RecipientNotFound("No user can be named like this: it mixes alphabets.")
    if getattr(sender, identifier.field).lower() == identifier.value:
        raise SelfTransfer()
    require_verified_email(sender)
    return _transfer_post(
        sender=sender,
        identifier=identifier,
        currency=currency,
        amount=amount,
        description=description.strip()[:255],
        idempotency_key=idempotency_key,
    )


def _transfer_refusal(
    *, sender: User, identifier: UserIdentifier, source: Wallet | None
) -> SelfTransfer | WalletNotFound | CurrencyMismatch:
    """Why the ordered lock query found no recipient wallet (error path only; the same order of
    checks as a lookup before the lock: unknown recipient, oneself, own wallet, then currency)."""
    recipient = _recipient_resolve(identifier)
    if recipient.pk == sender.pk:
        return SelfTransfer()
    if source is None:
        return WalletNotFound()
    return CurrencyMismatch()


@retry_on_contention
def _transfer_post(
    *,
    sender: User,
    identifier: UserIdentifier,
    currency: str,
    amount: Decimal,
    description: str,
    idempotency_key: IdempotencyKey | None,
) -> LedgerTransaction:
    with transaction.atomic(durable=True):
        # ONE ordered SELECT ... FOR UPDATE resolves the recipient and finds and locks both wallets.
        locked = transfer_wallets_lock(sender_id=sender.pk, recipient=identifier, currency=currency)
        source = next((row.wallet for row in locked if row.wallet.user_id == sender.pk), None)
        other = next((row for row in locked if row.wallet.user_id != sender.pk), None)
        if other is None:
            raise _transfer_refusal(sender=sender, identifier=identifier, source=source)
        if source is None:
            raise WalletNotFound()
        target = other.wallet
        require_active(source, target)
        require_available(source, amount)
        now = timezone.now()
        charge_daily_outgoing(wallet=source, owner=sender, amount=amount, today=now.date())
        # Rendering needs no extra queries: the recipient's name came with its wallet.
        source.user = sender
        target.user = User.from_db(
            connection.alias, ["id", "username", "email"], [target.user_id, other.username, other.email]
        )
        txn = LedgerTransaction(
            public_id=uuid.uuid4(),
            type=TransactionType.TRANSFER,
            status=TransactionStatus.POSTED,
            currency=currency,
            amount=amount,
            debit_wallet=source,
            credit_wallet=target,
            description=description,
            initiated_by=sender,
            created_at=now,
            posted_at=now,
            finalized_at=now,
        )
        post(
            postings=[Posting(txn, legs(debit=source, credit=target, amount=amount))],
            wallets=[source, target],
            now=now,
            idempotency_key=idempotency_key,
            record_outcome=True,
        )
    return txn
