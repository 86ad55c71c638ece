"""Money services: every rule, every error, and the ledger verifies after each."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.db import OperationalError
from pytest_django.fixtures import Settings

from accounts.models import Role
from accounts.tests.factories import StaffFactory, UserFactory
from ledger import exceptions as errors
from ledger.models import Direction, LedgerEntry, LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.adjustments import adjustment_create
from ledger.services.deposits import deposit_fail, deposit_settle
from ledger.services.posting import retry_on_contention
from ledger.services.reversals import transaction_reverse
from ledger.services.transfers import transfer_create, transfer_recipient_of_wallet
from ledger.services.withdrawals import withdrawal_post, withdrawal_void
from ledger.tests.factories import funded_wallet
from ledger.verification import ledger_verify
from payments import providers
from payments.deposits import deposit_create
from payments.exceptions import ProviderUnavailable
from payments.providers.base import PaymentResult, ProviderError, ProviderStatus
from payments.providers.sandbox import SandboxProvider
from payments.tests.factories import BankAccountFactory
from payments.withdrawals import withdrawal_create
from vaultcore.errors import ServiceUnavailable
from wallets.exceptions import UnsupportedCurrency, WalletFrozen, WalletNotFound
from wallets.models import Wallet, WalletStatus
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ledger_verifies() -> Iterator[None]:
    yield
    report = ledger_verify()
    assert report.ok, report.discrepancies


def _balances(wallet: Wallet) -> tuple[Decimal, Decimal]:
    wallet.refresh_from_db()
    return wallet.balance, wallet.held


# --- deposit ---------------------------------------------------------------------------------
def test_sandbox_deposit_posts_at_once_with_balanced_entries() -> None:
    # given
    wallet = WalletFactory.create(currency="JPY")
    assert wallet.user is not None
    # when
    txn, result = deposit_create(user=wallet.user, currency="JPY", amount=Decimal("500"))
    # then
    assert result.status == ProviderStatus.SUCCEEDED
    assert txn.status == TransactionStatus.POSTED
    assert txn.reference.startswith("sandbox_pay_")
    assert _balances(wallet) == (Decimal("500"), Decimal("0"))
    entries = list(LedgerEntry.objects.filter(transaction=txn).order_by("direction"))
    assert [(e.direction, e.amount) for e in entries] == [(Direction.CREDIT, 500), (Direction.DEBIT, 500)]
    assert entries[0].wallet_id == wallet.pk
    assert entries[0].balance_after == Decimal("500")


def test_deposit_needs_a_wallet_and_an_active_one() -> None:
    user = UserFactory.create()
    with pytest.raises(WalletNotFound):
        deposit_create(user=user, currency="USD", amount=Decimal("1.00"))
    wallet = WalletFactory.create(user=user, currency="USD", status=WalletStatus.FROZEN)
    with pytest.raises(WalletFrozen):
        deposit_create(user=user, currency="USD", amount=Decimal("1.00"))
    assert _balances(wallet) == (0, 0)
    assert not LedgerTransaction.objects.exists()


class _PendingProvider(SandboxProvider):
    name = "pending-test"

    def create_payment(self, **kwargs: object) -> PaymentResult:
        return PaymentResult(status=ProviderStatus.PENDING, reference="pi_123", client_secret="pi_123_secret_abc")


@pytest.fixture
def pending_provider(settings: Settings) -> Iterator[None]:
    with mock.patch.dict(providers.PROVIDERS, {"pending-test": f"{__name__}._PendingProvider"}):
        settings.PAYMENTS_PROVIDER = "pending-test"
        yield


@pytest.mark.usefixtures("pending_provider")
def test_provider_deposit_stays_pending_until_settled() -> None:
    # given
    wallet = WalletFactory.create()
    assert wallet.user is not None
    # when
    txn, result = deposit_create(user=wallet.user, currency="USD", amount=Decimal("25.00"))
    # then
    assert txn.status == TransactionStatus.PENDING
    assert result.client_secret == "pi_123_secret_abc"
    assert txn.reference == "pi_123"
    assert _balances(wallet) == (0, 0)
    # when the provider confirms (twice: webhooks are redelivered)
    deposit_settle(transaction_id=txn.pk)
    settled = deposit_settle(transaction_id=txn.pk)
    # then it is credited once
    assert settled.status == TransactionStatus.POSTED
    assert _balances(wallet) == (Decimal("25.00"), 0)


@pytest.mark.usefixtures("pending_provider")
def test_failed_deposit_moves_nothing_and_cannot_be_posted_later() -> None:
    wallet = WalletFactory.create()
    assert wallet.user is not None
    txn, _ = deposit_create(user=wallet.user, currency="USD", amount=Decimal("25.00"))
    assert deposit_fail(transaction_id=txn.pk, reason="card_declined").status == TransactionStatus.FAILED
    with pytest.raises(errors.InvalidTransactionState):
        deposit_settle(transaction_id=txn.pk)
    assert _balances(wallet) == (0, 0)


# --- withdrawal ------------------------------------------------------------------------------
def _outbox_relays(callbacks: list[Any]) -> list[Any]:
    """The after-commit callbacks that relay outbox rows (others count metrics)."""
    return [c for c in callbacks if getattr(c, "func", c).__module__ == "outbox.services"]


def test_sandbox_withdrawal_holds_then_posts(django_capture_on_commit_callbacks) -> None:
    wallet = funded_wallet(amount="100.00")
    assert wallet.user is not None
    bank_account = BankAccountFactory.create(owner=wallet.user, currency="USD")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        txn = withdrawal_create(
            user=wallet.user, currency="USD", amount=Decimal("40.00"), bank_account_id=str(bank_account.pk)
        )
    txn.refresh_from_db()
    assert len(_outbox_relays(callbacks)) == 1
    assert txn.status == TransactionStatus.POSTED
    assert txn.metadata == {"bank_account_id": str(bank_account.pk)}
    assert _balances(wallet) == (Decimal("60.00"), Decimal("0"))


def test_withdrawal_hold_is_released_by_void(django_capture_on_commit_callbacks) -> None:
    # given
    wallet = funded_wallet(amount="100.00")
    assert wallet.user is not None
    with django_capture_on_commit_callbacks() as callbacks:
        txn = withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("40.00"))
    assert txn.status == TransactionStatus.PENDING
    assert _balances(wallet) == (Decimal("100.00"), Decimal("40.00"))
    assert len(_outbox_relays(callbacks)) == 1  # the payout request, queued for after commit
    # when
    voided = withdrawal_void(transaction_id=txn.pk, reason="bank_rejected")
    # then
    assert voided.status == TransactionStatus.VOIDED
    assert _balances(wallet) == (Decimal("100.00"), Decimal("0"))
    with pytest.raises(errors.InvalidTransactionState):
        withdrawal_post(transaction_id=txn.pk)
    assert not LedgerEntry.objects.filter(transaction=txn).exists()


def test_withdrawal_post_is_idempotent() -> None:
    wallet = funded_wallet(amount="100.00")
    assert wallet.user is not None
    txn = withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("40.00"))
    withdrawal_post(transaction_id=txn.pk, reference="po_1")
    withdrawal_post(transaction_id=txn.pk, reference="po_1")
    assert _balances(wallet) == (Decimal("60.00"), Decimal("0"))
    with pytest.raises(errors.InvalidTransactionState):
        withdrawal_void(transaction_id=txn.pk)


def test_held_funds_cannot_be_spent_twice() -> None:
    wallet = funded_wallet(amount="100.00")
    other = funded_wallet(amount="0")
    assert wallet.user is not None and other.user is not None
    withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("70.00"))
    with pytest.raises(errors.InsufficientFunds):
        withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("30.01"))
    with pytest.raises(errors.InsufficientFunds):
        transfer_create(sender=wallet.user, recipient=other.user.username, currency="USD", amount=Decimal("30.01"))
    assert _balances(wallet) == (Decimal("100.00"), Decimal("70.00"))


def test_withdrawal_rules() -> None:
    wallet = funded_wallet(amount="10.00")
    user = wallet.user
    assert user is not None
    with pytest.raises(errors.InsufficientFunds):
        withdrawal_create(user=user, currency="USD", amount=Decimal("10.01"))
    with pytest.raises(WalletNotFound):
        withdrawal_create(user=user, currency="EUR", amount=Decimal("1.00"))
    Wallet.objects.filter(pk=wallet.pk).update(status=WalletStatus.FROZEN)
    with pytest.raises(WalletFrozen):
        withdrawal_create(user=user, currency="USD", amount=Decimal("1.00"))
    assert not LedgerTransaction.objects.filter(type=TransactionType.WITHDRAWAL).exists()


# --- transfer --------------------------------------------------------------------------------
def test_transfer_posts_a_debit_credit_pair() -> None:
    # given
    sender = funded_wallet(amount="100.00")
    recipient = funded_wallet(amount="1.00")
    assert sender.user is not None and recipient.user is not None
    # when (recipient by email, any case)
    txn = transfer_create(
        sender=sender.user,
        recipient=recipient.user.email.upper(),
        currency="USD",
        amount=Decimal("30.25"),
        description="dinner",
    )
    # then
    assert txn.status == TransactionStatus.POSTED
    assert txn.type == TransactionType.TRANSFER
    assert _balances(sender) == (Decimal("69.75"), 0)
    assert _balances(recipient) == (Decimal("31.25"), 0)
    legs = {e.wallet_id: (e.direction, e.balance_after) for e in txn.entries.all()}
    assert legs == {
        sender.pk: (Direction.DEBIT, Decimal("69.75")),
        recipient.pk: (Direction.CREDIT, Decimal("31.25")),
    }


def test_transfer_errors() -> None:
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    user = sender.user
    assert user is not None and recipient.user is not None
    name = recipient.user.username

    def send(**kwargs: object) -> LedgerTransaction:
        params: dict = {"sender": user, "recipient": name, "currency": "USD", "amount": Decimal("1.00"), **kwargs}
        return transfer_create(**params)

    with pytest.raises(errors.SelfTransfer):
        send(recipient=user.username.upper())
    with pytest.raises(errors.SelfTransfer):
        send(recipient=user.email)
    with pytest.raises(errors.RecipientNotFound):
        send(recipient="nobody-here")
    with pytest.raises(errors.CurrencyMismatch):
        send(currency="EUR", recipient=name) if WalletFactory.create(user=user, currency="EUR") else None
    with pytest.raises(errors.InsufficientFunds):
        send(amount=Decimal("10.01"))
    with pytest.raises(WalletNotFound):
        send(currency="GBP")
    with pytest.raises(UnsupportedCurrency):
        send(currency="XYZ")
    with pytest.raises(errors.InvalidAmount):
        send(amount=Decimal("1.001"))
    Wallet.objects.filter(pk=recipient.pk).update(status=WalletStatus.FROZEN)
    with pytest.raises(WalletFrozen):
        send()
    Wallet.objects.filter(pk=recipient.pk).update(status=WalletStatus.ACTIVE)
    Wallet.objects.filter(pk=sender.pk).update(status=WalletStatus.FROZEN)
    with pytest.raises(WalletFrozen):
        send()
    assert not LedgerTransaction.objects.filter(type=TransactionType.TRANSFER).exists()


def test_outgoing_money_needs_a_verified_email(settings: Settings) -> None:
    sender = funded_wallet(user=UserFactory.create(is_email_verified=False), amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    with pytest.raises(errors.EmailNotVerified):
        transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("1"))
    with pytest.raises(errors.EmailNotVerified):
        withdrawal_create(user=sender.user, currency="USD", amount=Decimal("1"))
    # input is validated before verification
    with pytest.raises(errors.InvalidAmount):
        withdrawal_create(user=sender.user, currency="USD", amount=Decimal("0"))
    settings.WALLET_REQUIRE_VERIFIED_EMAIL = False
    transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("1"))
    assert _balances(recipient) == (Decimal("1.00"), 0)


def test_daily_outgoing_limit_per_role(settings: Settings) -> None:
    # given a user limited to 100 a day, and staff limited to 1000
    settings.WALLET_DAILY_OUTGOING_LIMITS = {Role.USER: "100", Role.STAFF: "1000"}
    sender = funded_wallet(amount="5000.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    # when
    transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("60"))
    withdrawal_create(user=sender.user, currency="USD", amount=Decimal("40"))
    # then the next cent is over the limit
    with pytest.raises(errors.LimitExceeded):
        transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("0.01"))
    # a voided withdrawal gives its share of the limit back
    pending = LedgerTransaction.objects.get(type=TransactionType.WITHDRAWAL, status=TransactionStatus.PENDING)
    withdrawal_void(transaction_id=pending.pk)
    transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("40"))
    # staff have a larger limit
    staff_wallet = funded_wallet(user=StaffFactory.create(), amount="5000.00")
    assert staff_wallet.user is not None
    transfer_create(sender=staff_wallet.user, recipient=recipient.user.username, currency="USD", amount=Decimal("999"))
    assert _balances(recipient) == (Decimal("1099.00"), 0)


# --- staff operations ------------------------------------------------------------------------
def test_adjustments_are_staff_only_and_balanced() -> None:
    wallet = funded_wallet(amount="10.00")
    with pytest.raises(errors.LedgerPermissionDenied):
        adjustment_create(acting_user=UserFactory.create(), wallet=wallet, amount=Decimal("5"), reason="bonus")
    staff = StaffFactory.create()
    adjustment_create(acting_user=staff, wallet=wallet, amount=Decimal("5.00"), reason="goodwill")
    adjustment_create(acting_user=staff, wallet=wallet, amount=Decimal("-2.50"), reason="correction")
    assert _balances(wallet) == (Decimal("12.50"), 0)
    with pytest.raises(errors.InsufficientFunds):
        adjustment_create(acting_user=staff, wallet=wallet, amount=Decimal("-12.51"), reason="too much")
    equity = Wallet.objects.get(system_code="equity", currency="USD")
    assert equity.balance == Decimal("-2.50")


def test_reversal_undoes_a_transfer_once() -> None:
    # given
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    txn = transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("4"))
    staff = StaffFactory.create()
    # when
    reversal = transaction_reverse(acting_user=staff, transaction_id=txn.pk, reason="fraud")
    # then
    assert reversal.reverses_id == txn.pk
    assert _balances(sender) == (Decimal("10.00"), 0)
    assert _balances(recipient) == (Decimal("0.00"), 0)
    with pytest.raises(errors.AlreadyReversed):
        transaction_reverse(acting_user=staff, transaction_id=txn.pk)
    with pytest.raises(errors.InvalidTransactionState):
        transaction_reverse(acting_user=staff, transaction_id=reversal.pk)
    with pytest.raises(errors.LedgerPermissionDenied):
        transaction_reverse(acting_user=sender.user, transaction_id=txn.pk)


def test_reversal_cannot_overdraw_the_wallet_it_debits() -> None:
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    third = funded_wallet(amount="0")
    assert sender.user and recipient.user and third.user
    txn = transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("4"))
    transfer_create(sender=recipient.user, recipient=third.user.username, currency="USD", amount=Decimal("3"))
    with pytest.raises(errors.InsufficientFunds):
        transaction_reverse(acting_user=StaffFactory.create(), transaction_id=txn.pk)


# --- contention ------------------------------------------------------------------------------
def _deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def test_deadlocks_are_retried_a_bounded_number_of_times() -> None:
    calls = {"n": 0}

    @retry_on_contention
    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise _deadlock()
        return "done"

    assert flaky() == "done"
    assert calls["n"] == 3

    @retry_on_contention
    def always() -> str:
        raise _deadlock()

    with pytest.raises(ServiceUnavailable):
        always()


def test_other_database_errors_are_not_retried() -> None:
    calls = {"n": 0}

    @retry_on_contention
    def broken() -> None:
        calls["n"] += 1
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        broken()
    assert calls["n"] == 1


# --- hot path --------------------------------------------------------------------------------
def test_transfer_hot_path_query_count(django_assert_max_num_queries) -> None:
    """One ordered lock query that finds the recipient and locks both wallets, and ONE statement
    that inserts the transaction and both entries and updates both wallets (+ the savepoint
    statements that only exist inside the test's wrapping transaction; the exact statements of a
    transfer on real commits are pinned in test_hot_path.py)."""
    sender = funded_wallet(amount="100.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    with django_assert_max_num_queries(5):
        transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("1"))


def test_a_recipient_with_an_at_sign_is_an_email_address() -> None:
    # given a user with that email, and a legacy username that looks like it (usernames may no
    # longer contain "@": accounts.validators)
    sender = funded_wallet(amount="10.00")
    by_email = funded_wallet(user=UserFactory.create(username="erin", email="x@example.org"), amount="0")
    legacy = funded_wallet(user=UserFactory.create(username="x@example.org", email="y@example.org"), amount="0")
    assert sender.user is not None
    # when
    transfer_create(sender=sender.user, recipient="X@example.org", currency="USD", amount=Decimal("1.00"))
    # then the one rule: "@" means an email address, everywhere a user is named
    assert _balances(by_email) == (Decimal("1.00"), 0)
    assert _balances(legacy) == (0, 0)


def test_system_reversal_without_an_acting_user() -> None:
    # given a posted deposit (e.g. refunded at the provider)
    wallet = funded_wallet(amount="10.00")
    txn = LedgerTransaction.objects.get(credit_wallet=wallet)
    # when the payments code reverses it on the provider's event
    reversal = transaction_reverse(acting_user=None, transaction_id=txn.pk, reason="charge.refunded")
    # then
    assert reversal.initiated_by_id is None
    assert _balances(wallet) == (Decimal("0.00"), 0)


class _DownProvider(SandboxProvider):
    name = "down-test"

    def create_payment(self, **kwargs: object) -> PaymentResult:
        raise ProviderError("connection reset")


def test_deposit_provider_outage_is_503_and_the_deposit_fails_cleanly(settings: Settings) -> None:
    # given
    wallet = WalletFactory.create()
    assert wallet.user is not None
    with mock.patch.dict(providers.PROVIDERS, {"down-test": f"{__name__}._DownProvider"}):
        settings.PAYMENTS_PROVIDER = "down-test"
        # when / then
        with pytest.raises(ProviderUnavailable):
            deposit_create(user=wallet.user, currency="USD", amount=Decimal("5.00"))
    txn = LedgerTransaction.objects.get(credit_wallet=wallet)
    assert txn.status == TransactionStatus.FAILED
    assert txn.metadata["failure_reason"] == "provider_unavailable"
    assert _balances(wallet) == (0, 0)


def test_a_receiving_wallet_names_its_owner_as_the_recipient() -> None:
    # given
    receiving = WalletFactory.create(currency="EUR")
    # when
    recipient = transfer_recipient_of_wallet(wallet_public_id=str(receiving.public_id), currency="EUR")
    # then
    assert receiving.user is not None and recipient == receiving.user.username


@pytest.mark.parametrize("public_id", ["nonsense", "6f1c1f9e-6b8e-4a8e-9d53-1b2b9b3c2d11"])
def test_an_unknown_receiving_wallet_is_recipient_not_found(public_id: str) -> None:
    with pytest.raises(errors.RecipientNotFound) as caught:
        transfer_recipient_of_wallet(wallet_public_id=public_id, currency="USD")
    assert caught.value.attr == "receiver_wallet_id"


def test_a_receiving_wallet_in_another_currency_is_a_currency_mismatch() -> None:
    # given the recipient's EUR wallet, named for a USD transfer (they also hold USD)
    owner = UserFactory.create()
    WalletFactory.create(user=owner, currency="USD")
    eur = WalletFactory.create(user=owner, currency="EUR")
    # when / then: never silently paid into their USD wallet instead
    with pytest.raises(errors.CurrencyMismatch) as caught:
        transfer_recipient_of_wallet(wallet_public_id=str(eur.public_id), currency="USD")
    assert caught.value.attr == "receiver_wallet_id"
