"""Helpers that create ledger state through the real services (so the ledger always verifies)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from accounts.models import User
from accounts.tests.factories import StaffFactory, UserFactory
from ledger.models import LedgerTransaction
from ledger.services.deposits import deposit_open, deposit_settle
from ledger.services.withdrawals import withdrawal_hold_write
from wallets.models import SystemAccount, Wallet
from wallets.services import system_wallet_get
from wallets.tests.factories import WalletFactory


def funded_wallet(*, user: User | None = None, currency: str = "USD", amount: str = "100.00") -> Wallet:
    """A user wallet holding ``amount``, funded by a posted deposit."""
    wallet = WalletFactory.create(user=user or UserFactory.create(), currency=currency)
    if Decimal(amount) > 0:
        deposit(wallet=wallet, amount=amount)
    wallet.refresh_from_db()
    return wallet


def deposit(*, wallet: Wallet, amount: str) -> LedgerTransaction:
    assert wallet.user is not None
    """A deposit opened and settled like the sandbox provider does (ledger only: no provider)."""
    txn = deposit_open(user=wallet.user, currency=wallet.currency, amount=Decimal(amount))
    return deposit_settle(transaction_id=txn.pk, reference=f"sandbox_pay_{txn.public_id.hex}")


def withdrawal_hold(*, wallet: Wallet, amount: str) -> LedgerTransaction:
    """A pending withdrawal holding ``amount`` on ``wallet`` (no payout requested)."""
    assert wallet.user is not None
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency=wallet.currency)
    with transaction.atomic(durable=True):
        return withdrawal_hold_write(
            user=wallet.user,
            currency=wallet.currency,
            amount=Decimal(amount),
            clearing=clearing,
            bank_account_id=None,
            idempotency_key=None,
        )


def staff() -> User:
    return StaffFactory.create()
