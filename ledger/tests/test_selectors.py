"""Ledger reads: balance at an instant (with holds), lookups for webhooks."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.models import LedgerTransaction, TransactionType
from ledger.selectors import (
    ledger_transaction_get,
    transaction_daily_volume,
    transaction_pending_by_age,
    wallet_balance_as_of,
)
from ledger.services.withdrawals import withdrawal_void
from ledger.tests.factories import funded_wallet, withdrawal_hold
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


def test_daily_volume_sums_posted_transactions_per_day_currency_and_type() -> None:
    # given two USD deposits and one EUR deposit today, and a pending withdrawal (not posted)
    usd = funded_wallet(amount="10.00")
    funded_wallet(amount="5.25")
    funded_wallet(currency="EUR", amount="3.00")
    withdrawal_hold(wallet=usd, amount="1.00")
    today = timezone.now().date()
    # when
    rows = transaction_daily_volume(since=timezone.now() - timedelta(days=1))
    later = transaction_daily_volume(since=timezone.now() + timedelta(minutes=1))
    # then
    assert [(r["day"], r["currency"], r["type"], r["n"], r["total"]) for r in rows] == [
        (today, "EUR", TransactionType.DEPOSIT, 1, Decimal("3.00")),
        (today, "USD", TransactionType.DEPOSIT, 2, Decimal("15.25")),
    ]
    assert later == []


def test_pending_by_age_counts_and_sums_each_age_in_one_row_per_currency_and_type() -> None:
    # given a withdrawal held now
    wallet = funded_wallet(amount="10.00")
    withdrawal_hold(wallet=wallet, amount="2.50")
    # when asked as of an hour later
    rows = transaction_pending_by_age(
        now=timezone.now() + timedelta(hours=1),
        older_than={"any": timedelta(0), "half_hour": timedelta(minutes=30), "day": timedelta(days=1)},
    )
    # then
    (row,) = rows
    assert (row["currency"], row["type"], row["n"], row["total"]) == ("USD", "withdrawal", 1, Decimal("2.50"))
    assert (row["any"], row["half_hour"], row["day"]) == (1, 1, 0)
    assert (row["half_hour_total"], row["day_total"]) == (Decimal("2.50"), None)
