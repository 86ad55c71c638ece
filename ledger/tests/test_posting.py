"""The one posting function: it writes every column of what it touches, and every money flow
writes through it (no other statement changes transactions, entries or wallet balances)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from accounts.tests.factories import AdminFactory
from ledger.approvals import adjustment_propose, approval_approve
from ledger.exceptions import IdempotencyKeyInUse
from ledger.models import Direction, IdempotencyKey, LedgerEntry, LedgerTransaction, TransactionStatus, TransactionType
from ledger.services import (
    adjustments,
    clawbacks,
    deposits,
    pending,
    posting,
    reversals,
    transfers,
    withdrawals,
)
from ledger.tests.factories import funded_wallet, staff, withdrawal_hold
from ledger.verification import ledger_verify
from wallets.lock_objects import wallets_lock
from wallets.models import Wallet, WalletStatus

pytestmark = pytest.mark.django_db

_FLOW_MODULES = (adjustments, clawbacks, deposits, pending, reversals, transfers, withdrawals)
_TABLES = ("ledger_ledgertransaction", "ledger_ledgerentry", "wallets_wallet")
_BALANCE_COLUMNS = ("balance", "held", "outgoing_day", "outgoing_today")


def _writes_money(sql: str) -> bool:
    """Writes transactions or entries, or a wallet's balance, hold or daily total (opening a
    wallet, at zero, is not a money write)."""
    text = sql.replace('"', "").lower()
    if not re.match(r"\s*(with|insert|update|delete)\b", text) or re.match(r"\s*insert into wallets_wallet\b", text):
        return False
    if re.match(r"\s*update wallets_wallet\b", text):
        return any(re.search(rf"\b{column}\s*=", text) for column in _BALANCE_COLUMNS)
    return any(re.search(rf"\b(into|update|from)\s+{table}\b", text) for table in _TABLES)


@contextmanager
def money_writes() -> Iterator[list[tuple[str, bool]]]:
    """Every money-writing statement sent while the block runs, and whether ``post`` sent it."""
    seen: list[tuple[str, bool]] = []
    depth = [0]
    real_post = posting.post

    def spy(**kwargs: Any) -> None:
        depth[0] += 1
        try:
            real_post(**kwargs)
        finally:
            depth[0] -= 1

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if _writes_money(sql):
            seen.append((sql, depth[0] > 0))
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        stack.enter_context(connection.execute_wrapper(record))
        for module in _FLOW_MODULES:
            stack.enter_context(mock.patch.object(module, "post", spy))
        yield seen


def _assert_through_post(run: Callable[[], object]) -> None:
    with money_writes() as seen:
        run()
    assert seen, "the flow wrote no money at all: the check would pass vacuously"
    outside = [sql for sql, by_post in seen if not by_post]
    assert not outside, outside


def test_the_detector_sees_money_written_outside_post() -> None:
    # given a wallet, and a write that bypasses post
    wallet = funded_wallet(amount="1.00")
    # when / then: the check catches it (so it cannot pass because it sees nothing)
    with pytest.raises(AssertionError):
        _assert_through_post(lambda: Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("2.00")))
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("1.00"))


def test_every_money_flow_writes_through_post(settings: Any) -> None:
    # given
    settings.WALLET_REQUIRE_VERIFIED_EMAIL = False
    alice, bob = funded_wallet(amount="50.00"), funded_wallet(amount="0")
    carol = funded_wallet(amount="5.00")  # spends her deposit, which is then clawed back
    sender, recipient = alice.user, bob.user
    assert sender is not None and recipient is not None and carol.user is not None
    transfers.transfer_create(sender=carol.user, recipient=recipient.username, currency="USD", amount=Decimal("5.00"))
    carol_deposit = LedgerTransaction.objects.get(credit_wallet=carol, type=TransactionType.DEPOSIT)
    officer, checker = staff(), AdminFactory.create()
    flows: dict[str, Callable[[], object]] = {}
    opened: list[LedgerTransaction] = []
    held: list[LedgerTransaction] = []
    flows["transfer"] = lambda: transfers.transfer_create(
        sender=sender, recipient=recipient.username, currency="USD", amount=Decimal("1.00")
    )
    flows["deposit open"] = lambda: opened.append(
        deposits.deposit_open(user=sender, currency="USD", amount=Decimal("5.00"))
    )
    flows["provider reference"] = lambda: pending.transaction_reference_set(
        transaction_id=opened[0].pk, reference="pi_1", provider="test"
    )
    flows["deposit settle"] = lambda: deposits.deposit_settle(transaction_id=opened[0].pk)
    flows["deposit open again"] = lambda: opened.append(
        deposits.deposit_open(user=sender, currency="USD", amount=Decimal("5.00"))
    )
    flows["deposit fail"] = lambda: deposits.deposit_fail(transaction_id=opened[1].pk, reason="declined")
    flows["withdrawal hold"] = lambda: held.append(withdrawal_hold(wallet=alice, amount="2.00"))
    flows["withdrawal post"] = lambda: withdrawals.withdrawal_post(transaction_id=held[0].pk)
    flows["withdrawal hold again"] = lambda: held.append(withdrawal_hold(wallet=alice, amount="2.00"))
    flows["withdrawal void"] = lambda: withdrawals.withdrawal_void(transaction_id=held[1].pk, reason="failed")
    flows["adjustment"] = lambda: adjustments.adjustment_create(
        acting_user=officer, wallet=bob, amount=Decimal("3.00"), reason="fix"
    )
    flows["reversal"] = lambda: reversals.transaction_reverse(
        acting_user=officer, transaction_id=LedgerTransaction.objects.filter(type="adjustment").get().pk
    )
    flows["approved adjustment"] = lambda: approval_approve(
        acting_user=checker,
        approval_id=adjustment_propose(
            acting_user=officer, wallet=bob, direction=Direction.CREDIT, amount=Decimal("1.00"), reason="goodwill"
        ).pk,
    )
    flows["claw-back with a shortfall"] = lambda: clawbacks.deposit_clawback(
        transaction_id=carol_deposit.pk, amount=Decimal("5.00"), reason="dispute"
    )
    # when / then: each flow wrote money, and only through post
    for name, run in flows.items():
        try:
            _assert_through_post(run)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
    carol.refresh_from_db()
    assert carol.status == WalletStatus.FROZEN  # the claw-back's shortfall froze it (audited)
    assert ledger_verify().ok


@pytest.mark.parametrize("model", [LedgerTransaction, LedgerEntry, Wallet])
def test_post_writes_every_column_of_the_models(model: type[Model]) -> None:
    # given the statement of a posting that inserts, changes, and writes entries and wallets
    sql = posting._statement(1, 1, 2, 2, True, "", "").replace('"', "")
    # then every concrete column (but the pk) is written: a new field needs no hand-kept list
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        assert re.search(rf"\b{field.column}\b", sql), f"{model.__name__}.{field.name} is not written"


def test_several_transactions_post_atomically_in_one_statement() -> None:
    # given two wallets in two currencies and their system counterparts (an FX-like pair)
    usd = funded_wallet(currency="USD", amount="10.00")
    eur = funded_wallet(user=usd.user, currency="EUR", amount="0")
    usd_pool = funded_wallet(currency="USD", amount="0")
    eur_pool = funded_wallet(currency="EUR", amount="20.00")
    now = timezone.now()
    with transaction.atomic():
        locked = wallets_lock(ids=[usd.pk, eur.pk, usd_pool.pk, eur_pool.pk])

        def txn(currency: str, debit: Wallet, credit: Wallet, amount: str) -> posting.Posting:
            t = LedgerTransaction(
                type=TransactionType.TRANSFER,
                status=TransactionStatus.POSTED,
                currency=currency,
                amount=Decimal(amount),
                debit_wallet=debit,
                credit_wallet=credit,
                created_at=now,
                posted_at=now,
                finalized_at=now,
            )
            return posting.Posting(t, posting.legs(debit=debit, credit=credit, amount=Decimal(amount)))

        pair = [
            txn("USD", locked[usd.pk], locked[usd_pool.pk], "10.00"),
            txn("EUR", locked[eur_pool.pk], locked[eur.pk], "9.00"),
        ]
        with money_writes() as seen:
            posting.post(postings=pair, wallets=list(locked.values()), now=now)
    # then: one statement wrote both transactions and their four entries
    assert len(seen) == 1
    assert all(p.transaction.pk is not None for p in pair)
    assert LedgerEntry.objects.filter(transaction__in=[p.transaction for p in pair]).count() == 4
    eur.refresh_from_db()
    assert eur.balance == Decimal("9.00")
    assert ledger_verify().ok


def test_the_key_is_bound_only_while_its_claim_holds() -> None:
    # given a key whose claim was taken over (its locked_at moved on)
    sender, recipient = funded_wallet(amount="5.00"), funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    key = IdempotencyKey.objects.create(
        user=sender.user, key="k", operation="transfer", fingerprint="f", locked_at=timezone.now()
    )
    IdempotencyKey.objects.filter(pk=key.pk).update(locked_at=key.locked_at.replace(year=2000))
    # when / then
    with pytest.raises(IdempotencyKeyInUse):
        transfers.transfer_create(
            sender=sender.user,
            recipient=recipient.user.username,
            currency="USD",
            amount=Decimal("1.00"),
            idempotency_key=key,
        )
    recipient.refresh_from_db()
    assert recipient.balance == 0
