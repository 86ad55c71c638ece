"""Refunds and disputes of credited Stripe deposits: reversals, receivable shortfall, freeze."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.models import LedgerTransaction, TransactionType
from ledger.services.transfers import transfer_create
from payments import settlement
from payments.deposits import deposit_create
from payments.models import ReconciliationIssue, ReconciliationIssueKind, StripeEvent, StripeEventStatus
from payments.tests.flows import assert_books_balance, client_for, deliver, system, wallet_of
from payments.tests.stripe_standin import StripeStandIn
from wallets.models import SystemAccount, WalletStatus
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _credited_deposit(standin: StripeStandIn, user: User, amount: str = "100.00") -> tuple[LedgerTransaction, Any]:
    """A Stripe deposit posted by its signed succeeded event; returns it and its PaymentIntent."""
    deposit, _ = deposit_create(user=user, currency="USD", amount=Decimal(amount))
    pi = standin.succeed_payment_intent(deposit.reference)
    assert deliver(StripeStandIn.event("payment_intent.succeeded", pi)) == 200
    deposit.refresh_from_db()
    assert deposit.status == "posted"
    return deposit, pi


def _refund_event(pi: dict[str, Any], refunded_minor: int) -> dict[str, Any]:
    charge = {
        "id": pi["latest_charge"],
        "object": "charge",
        "amount": pi["amount"],
        "amount_refunded": refunded_minor,
        "currency": pi["currency"],
        "payment_intent": pi["id"],
        "refunded": refunded_minor == pi["amount"],
        "metadata": {},
        "status": "succeeded",
    }
    return StripeStandIn.event("charge.refunded", charge)


def _dispute_event(pi: dict[str, Any], event_type: str, dispute_id: str = "dp_standin_1") -> dict[str, Any]:
    dispute = {
        "id": dispute_id,
        "object": "dispute",
        "amount": pi["amount"],
        "currency": pi["currency"],
        "charge": pi["latest_charge"],
        "payment_intent": pi["id"],
        "reason": "fraudulent",
        "status": "needs_response",
        "metadata": {},
    }
    return StripeStandIn.event(event_type, dispute)


@pytest.fixture
def alice_and_bob() -> tuple[User, User]:
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    WalletFactory.create(user=alice, currency="USD")
    WalletFactory.create(user=bob, currency="USD")
    return alice, bob


def test_a_refund_of_unspent_money_is_a_plain_reversal(
    stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given alice's credited deposit of 100.00
    alice, _ = alice_and_bob
    deposit, pi = _credited_deposit(stripe_provider, alice)

    # when Stripe refunds it in full (event delivered twice)
    event = _refund_event(pi, 10000)
    assert deliver(event) == 200
    assert deliver(event) == 200

    # then one reversal takes the money back; the wallet stays active
    reversal = LedgerTransaction.objects.get(reverses=deposit)
    assert (reversal.type, reversal.amount) == (TransactionType.REVERSAL, Decimal("100.00"))
    wallet = wallet_of(alice)
    assert (wallet.balance, wallet.status) == (Decimal("0.00"), WalletStatus.ACTIVE)
    assert not ReconciliationIssue.objects.exists()
    assert_books_balance()


def test_a_refund_after_the_money_was_spent_books_a_receivable_and_freezes_the_wallet(
    stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given alice was credited 100.00 and sent 70.00 of it to bob
    alice, bob = alice_and_bob
    deposit, pi = _credited_deposit(stripe_provider, alice)
    transfer_create(sender=alice, recipient="bob", currency="USD", amount=Decimal("70.00"))

    # when Stripe refunds the payment in full
    event = _refund_event(pi, 10000)
    assert deliver(event) == 200

    # then: reversal of 100.00; the 70.00 she no longer has is owed (receivable); wallet frozen
    reversal = LedgerTransaction.objects.get(reverses=deposit)
    assert reversal.amount == Decimal("100.00")
    receivable = system(SystemAccount.RECEIVABLE)
    assert receivable is not None
    assert receivable.balance == Decimal("-70.00")
    advance = LedgerTransaction.objects.get(type=TransactionType.ADJUSTMENT, debit_wallet=receivable)
    assert advance.amount == Decimal("70.00")
    wallet = wallet_of(alice)
    assert (wallet.balance, wallet.held, wallet.status) == (Decimal("0.00"), Decimal("0.00"), WalletStatus.FROZEN)
    assert wallet_of(bob).balance == Decimal("70.00")  # bob keeps what he was sent
    issue = ReconciliationIssue.objects.get()
    assert issue.kind == ReconciliationIssueKind.RECEIVABLE
    assert issue.wallet_id == wallet.pk
    assert "70.00 USD" in issue.detail
    assert_books_balance()

    # and the frozen wallet can neither send nor deposit
    api = client_for(alice)
    response = api.post("/api/v1/transactions/deposit/", {"currency": "USD", "amount": "5.00"})
    assert response.status_code == 423

    # when the same refund is delivered again
    assert deliver(event) == 200

    # then nothing more happens
    assert LedgerTransaction.objects.filter(type=TransactionType.REVERSAL).count() == 1
    assert receivable.__class__.objects.get(pk=receivable.pk).balance == Decimal("-70.00")
    assert ReconciliationIssue.objects.count() == 1


def test_a_dispute_after_the_money_was_spent_is_reversed_once_across_both_events(
    stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given alice spent all 100.00 of her deposit
    alice, _ = alice_and_bob
    deposit, pi = _credited_deposit(stripe_provider, alice)
    transfer_create(sender=alice, recipient="bob", currency="USD", amount=Decimal("100.00"))

    # when the dispute opens and its funds are withdrawn
    assert deliver(_dispute_event(pi, "charge.dispute.created")) == 200
    assert deliver(_dispute_event(pi, "charge.dispute.funds_withdrawn")) == 200

    # then one reversal, the whole amount is receivable, the wallet is frozen
    assert LedgerTransaction.objects.filter(reverses=deposit).count() == 1
    receivable = system(SystemAccount.RECEIVABLE)
    assert receivable is not None and receivable.balance == Decimal("-100.00")
    wallet = wallet_of(alice)
    assert (wallet.balance, wallet.status) == (Decimal("0.00"), WalletStatus.FROZEN)
    assert ReconciliationIssue.objects.get().kind == ReconciliationIssueKind.RECEIVABLE
    assert_books_balance()


def test_a_partially_spent_balance_with_a_pending_withdrawal_keeps_the_hold_covered(
    settings: Any, stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given alice: 100.00 credited, 30.00 held by a pending payout
    alice, _ = alice_and_bob
    _deposit, pi = _credited_deposit(stripe_provider, alice)
    response = client_for(alice).post("/api/v1/transactions/withdraw/", {"currency": "USD", "amount": "30.00"})
    assert response.status_code == 201

    # when the deposit is refunded in full
    assert deliver(_refund_event(pi, 10000)) == 200

    # then only the available 70.00 is taken from her; 30.00 becomes receivable; the hold stays covered
    wallet = wallet_of(alice)
    assert (wallet.balance, wallet.held, wallet.status) == (Decimal("30.00"), Decimal("30.00"), WalletStatus.FROZEN)
    receivable = system(SystemAccount.RECEIVABLE)
    assert receivable is not None and receivable.balance == Decimal("-30.00")
    assert_books_balance()


def test_a_second_partial_refund_is_an_issue_not_a_second_reversal(
    stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given a first partial refund of 40.00 booked
    alice, _ = alice_and_bob
    deposit, pi = _credited_deposit(stripe_provider, alice)
    assert deliver(_refund_event(pi, 4000)) == 200
    assert wallet_of(alice).balance == Decimal("60.00")

    # when a second refund brings the refunded total to 100.00
    assert deliver(_refund_event(pi, 10000)) == 200

    # then the ledger keeps one reversal and staff are told
    assert LedgerTransaction.objects.filter(reverses=deposit).count() == 1
    assert wallet_of(alice).balance == Decimal("60.00")
    assert ReconciliationIssue.objects.get().kind == ReconciliationIssueKind.UNBOOKED_REFUND


def test_a_refund_of_an_unknown_payment_is_recorded_not_booked(stripe_provider: StripeStandIn) -> None:
    # given no deposit for this PaymentIntent
    pi = {"id": "pi_nobody", "latest_charge": "ch_nobody", "amount": 500, "currency": "usd"}

    # when
    assert deliver(_refund_event(pi, 500)) == 200

    # then
    assert not LedgerTransaction.objects.filter(type=TransactionType.REVERSAL).exists()
    issue = ReconciliationIssue.objects.get()
    assert (issue.kind, issue.stripe_object_id) == (ReconciliationIssueKind.UNKNOWN_OBJECT, "ch_nobody")


def test_a_won_dispute_is_recorded_for_staff_and_the_reversal_stays(
    stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given a disputed deposit, reversed
    alice, _ = alice_and_bob
    deposit, pi = _credited_deposit(stripe_provider, alice)
    assert deliver(_dispute_event(pi, "charge.dispute.created")) == 200
    reversal = LedgerTransaction.objects.get(reverses=deposit)

    # when the dispute is won and Stripe reinstates the funds
    assert deliver(_dispute_event(pi, "charge.dispute.funds_reinstated")) == 200

    # then no automatic booking; staff get an issue naming the reversal and the wallet
    assert LedgerTransaction.objects.filter(type=TransactionType.REVERSAL).count() == 1
    issue = ReconciliationIssue.objects.get(kind=ReconciliationIssueKind.DISPUTE_REINSTATED)
    assert issue.ledger_transaction_id == reversal.pk
    assert issue.wallet_id == wallet_of(alice).pk
    assert_books_balance()


def test_concurrent_deliveries_of_a_refund_book_one_reversal(
    stripe_provider: StripeStandIn, alice_and_bob: tuple[User, User]
) -> None:
    # given a credited deposit partly spent
    alice, _ = alice_and_bob
    deposit, pi = _credited_deposit(stripe_provider, alice)
    transfer_create(sender=alice, recipient="bob", currency="USD", amount=Decimal("30.00"))
    charge = _refund_event(pi, 10000)["data"]["object"]
    barrier = threading.Barrier(6)
    notes: list[str] = []

    def apply() -> None:
        try:
            barrier.wait(5)
            notes.append(
                settlement.deposit_clawback_apply(
                    payment_intent_id=pi["id"], amount_minor=10000, currency="usd", source=charge, reason="refund"
                )
            )
        finally:
            connection.close()

    # when six workers apply the same refund at once (real threads, real commits)
    threads = [threading.Thread(target=apply) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then exactly one reversal and one receivable advance; the rest saw it already booked
    assert len(notes) == 6
    assert sum(note.endswith("wallet frozen.") for note in notes) == 1
    assert sum("shortfall 30.00 USD booked" in note for note in notes) == 1  # the currency's digits
    assert sum(note.endswith("already reversed.") for note in notes) == 5
    assert LedgerTransaction.objects.filter(reverses=deposit).count() == 1
    receivable = system(SystemAccount.RECEIVABLE)
    assert receivable is not None and receivable.balance == Decimal("-30.00")
    assert ReconciliationIssue.objects.count() == 1
    assert_books_balance()


def test_a_refund_event_without_a_charge_object_fails_the_event_with_the_error_kept(
    stripe_provider: StripeStandIn,
) -> None:
    # when a signed charge.refunded event carries something else
    event = StripeStandIn.event("charge.refunded", {"id": "pi_x", "object": "payment_intent"})
    assert deliver(event) == 200

    # then the event is failed (retryable from the admin) and nothing was booked
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEventStatus.FAILED
    assert "does not carry a charge object" in stored.error
    assert not LedgerTransaction.objects.filter(type=TransactionType.REVERSAL).exists()
