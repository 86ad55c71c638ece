"""Ledger reads: balance at an instant (with holds), lookups for webhooks."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.models import LedgerTransaction
from ledger.selectors import ledger_transaction_get, wallet_balance_as_of
from ledger.services.withdrawals import withdrawal_void
from ledger.tests.factories import funded_wallet
from payments.withdrawals import withdrawal_create

pytestmark = pytest.mark.django_db


def test_balance_as_of_includes_holds_open_at_that_instant() -> None:
    # given a hold placed and later voided
    wallet = funded_wallet(amount="100.00")
    assert wallet.user is not None
    hold = withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("30.00"))
    during = timezone.now()
    voided = withdrawal_void(transaction_id=hold.pk)
    assert voided.finalized_at is not None
    after = voided.finalized_at + timedelta(microseconds=1)
    # when / then
    at_during = wallet_balance_as_of(wallet=wallet, as_of=during)
    assert (at_during.balance, at_during.held, at_during.available) == (Decimal("100.00"), Decimal("30.00"), 70)
    at_after = wallet_balance_as_of(wallet=wallet, as_of=after)
    assert (at_after.balance, at_after.held) == (Decimal("100.00"), 0)
    before = wallet_balance_as_of(wallet=wallet, as_of=during - timedelta(days=1))
    assert (before.balance, before.held) == (0, 0)


def test_ledger_transaction_get_by_public_id_or_reference() -> None:
    wallet = funded_wallet(amount="1.00")
    txn = LedgerTransaction.objects.get(credit_wallet=wallet)
    assert ledger_transaction_get(public_id=txn.public_id) == txn
    assert ledger_transaction_get(reference=txn.reference) == txn
    assert ledger_transaction_get(public_id=uuid.uuid4()) is None
    assert ledger_transaction_get() is None
