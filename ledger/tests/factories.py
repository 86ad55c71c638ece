"""Helpers that create ledger state through the real services (so the ledger always verifies)."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import User
from accounts.tests.factories import StaffFactory, UserFactory
from ledger.models import LedgerTransaction
from ledger.services import deposit_create
from wallets.models import Wallet
from wallets.tests.factories import WalletFactory


def funded_wallet(*, user: User | None = None, currency: str = "USD", amount: str = "100.00") -> Wallet:
    """A user wallet holding ``amount``, funded by a posted sandbox deposit."""
    wallet = WalletFactory.create(user=user or UserFactory.create(), currency=currency)
    if Decimal(amount) > 0:
        deposit(wallet=wallet, amount=amount)
    wallet.refresh_from_db()
    return wallet


def deposit(*, wallet: Wallet, amount: str) -> LedgerTransaction:
    assert wallet.user is not None
    txn, _ = deposit_create(user=wallet.user, currency=wallet.currency, amount=Decimal(amount))
    return txn


def staff() -> User:
    return StaffFactory.create()
