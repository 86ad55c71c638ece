"""Property-based (Hypothesis, stateful): random sequences of money operations and bad
requests, on real PostgreSQL with real commits. After every step: money is conserved per
currency, no user wallet is negative, every balance equals a plain Python model of the
rules, and ``verify_ledger`` is clean."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from decimal import Decimal
from unittest import mock

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.tests.factories import StaffFactory, UserFactory
from ledger import exceptions as errors
from ledger.models import LedgerTransaction, TransactionStatus
from ledger.services.adjustments import adjustment_create
from ledger.services.reversals import transaction_reverse
from ledger.services.transfers import transfer_create
from ledger.services.withdrawals import withdrawal_post, withdrawal_void
from ledger.verification import ledger_verify
from payments import providers
from payments.deposits import deposit_create
from payments.providers.base import PayoutResult, ProviderStatus
from payments.providers.sandbox import SandboxProvider
from payments.withdrawals import withdrawal_create
from wallets.models import Wallet, WalletKind
from wallets.money import quantum
from wallets.services import wallet_create

CURRENCIES = ["USD", "JPY", "KWD"]
USERS = 3
_names = itertools.count()


class ManualPayoutProvider(SandboxProvider):
    """Deposits succeed at once; payouts stay pending until the machine posts or voids them."""

    name = "manual-payout"

    def create_payout(self, **kwargs: object) -> PayoutResult:
        return PayoutResult(status=ProviderStatus.PENDING, reference=f"po_{uuid.uuid4().hex}")


def amounts(currency: str) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=1, max_value=60_000).map(lambda units: units * quantum(currency))


money_steps = st.sampled_from(CURRENCIES).flatmap(lambda c: st.tuples(st.just(c), amounts(c)))
users = st.integers(min_value=0, max_value=USERS - 1)


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def open_wallets(self) -> None:
        self.users: list[User] = [UserFactory.create(username=f"prop{next(_names)}") for _ in range(USERS)]
        self.staff = StaffFactory.create(username=f"propstaff{next(_names)}")
        for user in self.users:
            for currency in CURRENCIES:
                wallet_create(user=user, currency=currency)
        # The model: what the rules say each wallet holds.
        self.balance: dict[tuple[int, str], Decimal] = {(i, c): Decimal(0) for i in range(USERS) for c in CURRENCIES}
        self.held: dict[tuple[int, str], Decimal] = dict.fromkeys(self.balance, Decimal(0))
        self.pending: list[tuple[int, int, str, Decimal]] = []  # (txn pk, user, currency, amount)
        self.posted: list[int] = []

    def available(self, key: tuple[int, str]) -> Decimal:
        return self.balance[key] - self.held[key]

    @rule(who=users, step=money_steps)
    def deposit(self, who: int, step: tuple[str, Decimal]) -> None:
        currency, amount = step
        txn, _ = deposit_create(user=self.users[who], currency=currency, amount=amount)
        assert txn.status == TransactionStatus.POSTED
        self.balance[(who, currency)] += amount
        self.posted.append(txn.pk)

    @rule(who=users, step=money_steps)
    def withdraw(self, who: int, step: tuple[str, Decimal]) -> None:
        currency, amount = step
        key = (who, currency)
        try:
            txn = withdrawal_create(user=self.users[who], currency=currency, amount=amount)
        except errors.InsufficientFunds:
            assert self.available(key) < amount
            return
        assert self.available(key) >= amount
        assert txn.status == TransactionStatus.PENDING
        self.held[key] += amount
        self.pending.append((txn.pk, who, currency, amount))

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(min_value=0), post=st.booleans())
    def settle_withdrawal(self, index: int, post: bool) -> None:
        pk, who, currency, amount = self.pending.pop(index % len(self.pending))
        key = (who, currency)
        self.held[key] -= amount
        if post:
            withdrawal_post(transaction_id=pk)
            self.balance[key] -= amount
            self.posted.append(pk)
        else:
            withdrawal_void(transaction_id=pk)

    @rule(sender=users, recipient=users, step=money_steps)
    def transfer(self, sender: int, recipient: int, step: tuple[str, Decimal]) -> None:
        currency, amount = step
        try:
            txn = transfer_create(
                sender=self.users[sender], recipient=self.users[recipient].username, currency=currency, amount=amount
            )
        except errors.SelfTransfer:
            assert sender == recipient
            return
        except errors.InsufficientFunds:
            assert sender != recipient
            assert self.available((sender, currency)) < amount
            return
        assert sender != recipient
        assert self.available((sender, currency)) >= amount
        self.balance[(sender, currency)] -= amount
        self.balance[(recipient, currency)] += amount
        self.posted.append(txn.pk)

    @rule(who=users, step=money_steps, negative=st.booleans())
    def adjust(self, who: int, step: tuple[str, Decimal], negative: bool) -> None:
        currency, amount = step
        signed = -amount if negative else amount
        wallet = Wallet.objects.get(user=self.users[who], currency=currency)
        try:
            txn = adjustment_create(acting_user=self.staff, wallet=wallet, amount=signed, reason="property test")
        except errors.InsufficientFunds:
            assert negative and self.available((who, currency)) < amount
            return
        self.balance[(who, currency)] += signed
        self.posted.append(txn.pk)

    @precondition(lambda self: bool(self.posted))
    @rule(index=st.integers(min_value=0))
    def reverse(self, index: int) -> None:
        pk = self.posted[index % len(self.posted)]
        original = LedgerTransaction.objects.select_related("debit_wallet", "credit_wallet").get(pk=pk)
        debit_key = self._key(original.credit_wallet)  # the reversal debits the original credit side
        credit_key = self._key(original.debit_wallet)
        try:
            reversal = transaction_reverse(acting_user=self.staff, transaction_id=pk, reason="property test")
        except errors.AlreadyReversed:
            assert LedgerTransaction.objects.filter(reverses_id=pk).exists()
            return
        except errors.InsufficientFunds:
            assert debit_key is not None and self.available(debit_key) < original.amount
            return
        if debit_key is not None:
            assert self.available(debit_key) >= original.amount
            self.balance[debit_key] -= original.amount
        if credit_key is not None:
            self.balance[credit_key] += original.amount
        assert reversal.reverses_id == pk

    @rule(
        who=users,
        currency=st.sampled_from(CURRENCIES),
        raw=st.sampled_from(["0", "-1", "1.0001", "NaN", "1e2", "10000000", "abc", ""]),
    )
    def bad_request(self, who: int, currency: str, raw: str) -> None:
        before = LedgerTransaction.objects.count()
        with pytest.raises(errors.InvalidAmount):
            deposit_create(user=self.users[who], currency=currency, amount=raw)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidAmount):
            transfer_create(sender=self.users[who], recipient="nobody", currency=currency, amount=raw)  # type: ignore[arg-type]
        assert LedgerTransaction.objects.count() == before

    def _key(self, wallet: Wallet) -> tuple[int, str] | None:
        if wallet.kind != WalletKind.USER:
            return None
        index = next(i for i, user in enumerate(self.users) if user.pk == wallet.user_id)
        return (index, wallet.currency)

    @invariant()
    def ledger_is_consistent(self) -> None:
        if not hasattr(self, "users"):
            return
        wallets = {(w.user_id, w.currency): w for w in Wallet.objects.filter(user__in=self.users, kind=WalletKind.USER)}
        for (i, currency), expected in self.balance.items():
            wallet = wallets[(self.users[i].pk, currency)]
            assert (wallet.balance, wallet.held) == (expected, self.held[(i, currency)])
            assert wallet.balance >= 0 and wallet.held >= 0 and wallet.available >= 0
        totals = Wallet.objects.values("currency").annotate(total=Sum("balance"))
        assert all(row["total"] == 0 for row in totals), list(totals)
        report = ledger_verify()
        assert report.ok, report.discrepancies


@pytest.fixture
def manual_payouts(settings: Settings) -> Iterator[None]:
    with mock.patch.dict(providers.PROVIDERS, {"manual-payout": f"{__name__}.ManualPayoutProvider"}):
        settings.PAYMENTS_PROVIDER = "manual-payout"
        settings.WALLET_DAILY_OUTGOING_LIMITS = {}
        yield


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("manual_payouts")
def test_random_operation_sequences_keep_the_ledger_consistent() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
