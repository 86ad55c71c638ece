"""PostgreSQL enforces the ledger's rules even when Python is bypassed (.update(), raw SQL)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from ledger.models import (
    Direction,
    IdempotencyKey,
    LedgerEntry,
    LedgerTransaction,
    TransactionStatus,
    TransactionType,
)
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def _check_deferred_now() -> None:
    """Fire deferred constraint triggers now, as COMMIT would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.fixture
def posted_transfer() -> LedgerTransaction:
    sender = funded_wallet(amount="50.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    return transfer_create(
        sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("20.00")
    )


def test_entries_cannot_be_updated(posted_transfer: LedgerTransaction) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(transaction=posted_transfer).update(amount=Decimal("1.00"))


def test_entries_cannot_be_deleted(posted_transfer: LedgerTransaction) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(transaction=posted_transfer).delete()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_ledgerentry WHERE transaction_id = %s", [posted_transfer.pk])
    assert LedgerEntry.objects.filter(transaction=posted_transfer).count() == 2


def test_posted_transactions_cannot_be_updated_or_deleted(posted_transfer: LedgerTransaction) -> None:
    for change in ({"amount": Decimal("1.00")}, {"status": TransactionStatus.VOIDED}, {"description": "x"}):
        with pytest.raises(IntegrityError, match="no longer change"), transaction.atomic():
            LedgerTransaction.objects.filter(pk=posted_transfer.pk).update(**change)
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM ledger_ledgertransaction WHERE id = %s", [posted_transfer.pk])


def _pending_withdrawal() -> LedgerTransaction:
    wallet = funded_wallet(amount="10.00")
    clearing = Wallet.objects.get(system_code="provider_clearing", currency="USD")
    return LedgerTransaction.objects.create(
        type=TransactionType.WITHDRAWAL,
        currency="USD",
        amount=Decimal("1.00"),
        debit_wallet=wallet,
        credit_wallet=clearing,
        created_at=timezone.now(),
    )


def test_status_moves_only_from_pending() -> None:
    # given a voided transaction
    txn = _pending_withdrawal()
    LedgerTransaction.objects.filter(pk=txn.pk).update(status=TransactionStatus.VOIDED, finalized_at=timezone.now())
    # when / then: voided -> posted or back to pending is refused
    for status in (TransactionStatus.POSTED, TransactionStatus.PENDING):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerTransaction.objects.filter(pk=txn.pk).update(status=status, posted_at=timezone.now())


def test_pending_transaction_may_change_only_its_status() -> None:
    txn = _pending_withdrawal()
    with pytest.raises(IntegrityError, match="only the status"), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(amount=Decimal("5.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(status="refunded")


def test_unbalanced_entries_fail_at_commit() -> None:
    # given a posted transaction written by hand with one leg short
    txn = _pending_withdrawal()
    now = timezone.now()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(status=TransactionStatus.POSTED, posted_at=now)
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    transaction=txn,
                    wallet=txn.debit_wallet,
                    direction=Direction.DEBIT,
                    amount=Decimal("1.00"),
                    currency="USD",
                    balance_after=Decimal("9.00"),
                    created_at=now,
                ),
                LedgerEntry(
                    transaction=txn,
                    wallet=txn.credit_wallet,
                    direction=Direction.CREDIT,
                    amount=Decimal("0.99"),
                    currency="USD",
                    balance_after=Decimal("0.99"),
                    created_at=now,
                ),
            ]
        )
        _check_deferred_now()


def test_posted_transaction_without_entries_fails_at_commit() -> None:
    txn = _pending_withdrawal()
    with pytest.raises(IntegrityError, match="has 0 entries"), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(status=TransactionStatus.POSTED, posted_at=timezone.now())
        _check_deferred_now()


def test_entries_of_a_pending_transaction_are_refused() -> None:
    txn = _pending_withdrawal()
    now = timezone.now()
    with pytest.raises(IntegrityError, match="has entries but is pending"), transaction.atomic():
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    transaction=txn,
                    wallet=txn.debit_wallet,
                    direction=Direction.DEBIT,
                    amount=Decimal("1.00"),
                    currency="USD",
                    balance_after=Decimal("9.00"),
                    created_at=now,
                ),
                LedgerEntry(
                    transaction=txn,
                    wallet=txn.credit_wallet,
                    direction=Direction.CREDIT,
                    amount=Decimal("1.00"),
                    currency="USD",
                    balance_after=Decimal("1.00"),
                    created_at=now,
                ),
            ]
        )
        _check_deferred_now()


def test_entry_and_transaction_amounts_must_be_positive() -> None:
    txn = _pending_withdrawal()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(amount=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_ledgerentry (transaction_id, wallet_id, direction, amount, currency, balance_after,"
            " created_at) VALUES (%s, %s, 'debit', -1, 'USD', 0, now())",
            [txn.pk, txn.debit_wallet_id],
        )


def test_a_transaction_is_reversed_at_most_once_in_the_database(posted_transfer: LedgerTransaction) -> None:
    now = timezone.now()

    def reversal() -> LedgerTransaction:
        return LedgerTransaction.objects.create(
            type=TransactionType.REVERSAL,
            currency="USD",
            amount=posted_transfer.amount,
            debit_wallet=posted_transfer.credit_wallet,
            credit_wallet=posted_transfer.debit_wallet,
            reverses=posted_transfer,
            created_at=now,
        )

    reversal()
    with pytest.raises(IntegrityError), transaction.atomic():
        reversal()


@pytest.mark.ledger_left_inconsistent  # writes balances/rows around the services on purpose
@pytest.mark.django_db(transaction=True)
def test_unbalanced_entries_are_rolled_back_by_a_real_commit() -> None:
    # given
    txn = _pending_withdrawal()
    now = timezone.now()
    # when: a real transaction commits an unbalanced posting
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(status=TransactionStatus.POSTED, posted_at=now)
        LedgerEntry.objects.create(
            transaction=txn,
            wallet=txn.debit_wallet,
            direction=Direction.DEBIT,
            amount=Decimal("1.00"),
            currency="USD",
            balance_after=Decimal("9.00"),
            created_at=now,
        )
    # then nothing of it remains
    txn.refresh_from_db()
    assert txn.status == TransactionStatus.PENDING
    assert not LedgerEntry.objects.filter(transaction=txn).exists()


def test_idempotency_keys_are_unique_per_user_in_the_database() -> None:
    user = UserFactory.create()
    fields = {"user": user, "key": "k", "operation": "transfer", "fingerprint": "f", "locked_at": timezone.now()}
    IdempotencyKey.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyKey.objects.create(**fields)
    IdempotencyKey.objects.create(**{**fields, "user": UserFactory.create()})
