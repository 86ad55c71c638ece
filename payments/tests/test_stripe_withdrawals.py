"""Stripe withdrawals: hold -> payout (Celery task, retried with the same key) -> paid/failed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

import outbox.services
from ledger.models import LedgerEntry, LedgerTransaction, TransactionStatus, TransactionType
from outbox.models import OutboxMessage
from payments.models import BankAccount, ReconciliationIssue, ReconciliationIssueKind
from payments.payouts import PAYOUT_REQUEST_TOPIC
from payments.tasks import withdrawal_payout_request
from payments.tests.factories import BankAccountFactory
from payments.tests.flows import assert_books_balance, client_for, deliver, funded_user, txn, wallet_of
from payments.tests.stripe_standin import StripeStandIn
from vaultcore.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)

WITHDRAW_URL = "/api/v1/transactions/withdraw/"


def _withdraw(user: Any, amount: str = "40.00", **extra: Any) -> dict[str, Any]:
    response = client_for(user).post(WITHDRAW_URL, {"currency": "USD", "amount": amount, **extra})
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def _payout_event(standin: StripeStandIn, po_id: str, status: str, **kwargs: Any) -> dict[str, Any]:
    return StripeStandIn.event(f"payout.{status}", standin.set_payout_status(po_id, status, **kwargs))


def test_withdrawal_holds_then_the_paid_payout_posts_it_once(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given a funded user with a bank account known to Stripe as an external account
    user = funded_user(settings)
    account = BankAccountFactory.create(owner=user, stripe_external_account_id="ba_standin_123")

    # when the withdrawal is requested
    body = _withdraw(user, bank_account_id=str(account.pk))

    # then the money is held and one payout was created, keyed by the withdrawal's id
    assert body["status"] == "pending"
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.held) == (Decimal("100.00"), Decimal("40.00"))
    (payout,) = stripe_provider.payouts.values()
    assert (payout["amount"], payout["currency"], payout["destination"]) == (4000, "usd", "ba_standin_123")
    assert payout["metadata"] == {
        "ledger_transaction_id": body["id"],
        "user_id": str(user.pk),
        "bank_account_id": str(account.pk),
    }
    (call,) = stripe_provider.calls("POST", "/v1/payouts")
    assert call.idempotency_key == f"vaultcore:payout:{body['id']}"
    assert txn(body["id"]).reference == payout["id"]

    # when the payout is paid (and the event is delivered twice)
    event = _payout_event(stripe_provider, payout["id"], "paid")
    assert deliver(event) == 200
    assert deliver(event) == 200

    # then the withdrawal is posted once
    withdrawal = txn(body["id"])
    assert withdrawal.status == TransactionStatus.POSTED
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (Decimal("60.00"), Decimal("0.00"))
    assert LedgerEntry.objects.filter(transaction=withdrawal).count() == 2
    assert_books_balance()


@pytest.mark.parametrize("fault", ["500", "timeout", "429"])
def test_payout_creation_survives_stripe_faults_with_one_payout_and_one_debit(
    settings: SettingsWrapper, stripe_provider: StripeStandIn, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Stripe fails the first 5 payout attempts: more than one task run's retries
    # (1 + STRIPE_MAX_RETRIES = 4), so the Celery task retries too (eagerly here: Celery's own
    # retry path, run at once instead of after the countdown)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    user = funded_user(settings)
    stripe_provider.inject(fault, times=5)

    # when
    body = _withdraw(user)

    # then exactly one payout exists; every attempt carried the same key
    calls = stripe_provider.calls("POST", "/v1/payouts")
    assert len(calls) == 6
    assert {c.idempotency_key for c in calls} == {f"vaultcore:payout:{body['id']}"}
    assert len(stripe_provider.payouts) == 1
    (payout,) = stripe_provider.payouts.values()
    withdrawal = txn(body["id"])
    assert withdrawal.status == TransactionStatus.PENDING
    assert withdrawal.reference == payout["id"]

    # when it is paid
    assert deliver(_payout_event(stripe_provider, payout["id"], "paid")) == 200

    # then exactly one debit of the user's wallet
    wallet = wallet_of(user)
    assert wallet.balance == Decimal("60.00")
    assert wallet.entries.filter(direction="debit").count() == 1
    assert_books_balance()


def test_a_payout_refused_by_stripe_voids_the_withdrawal_with_the_reason(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given Stripe answers the payout with a 4xx
    user = funded_user(settings)
    stripe_provider.inject("402")

    # when
    body = _withdraw(user)

    # then the withdrawal is voided, the hold released, the reason kept; nothing retried
    withdrawal = txn(body["id"])
    assert withdrawal.status == TransactionStatus.VOIDED
    assert withdrawal.metadata["void_reason"] == "provider_rejected:402:card_declined:generic_decline"
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.held) == (Decimal("100.00"), Decimal("0.00"))
    assert len(stripe_provider.calls("POST", "/v1/payouts")) == 1


def test_someone_elses_bank_account_is_refused_before_any_hold(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given
    user = funded_user(settings)
    other = BankAccountFactory.create()
    before = LedgerTransaction.objects.count()

    # when
    response = client_for(user).post(
        WITHDRAW_URL, {"currency": "USD", "amount": "40.00", "bank_account_id": str(other.pk)}
    )

    # then
    assert response.status_code == 404, response.content
    assert LedgerTransaction.objects.count() == before
    assert not stripe_provider.calls("POST", "/v1/payouts")


def test_a_bank_account_deleted_after_the_hold_voids_the_withdrawal_without_calling_stripe(
    settings: SettingsWrapper, stripe_provider: StripeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a hold whose payout request has not run yet
    user = funded_user(settings)
    account = BankAccountFactory.create(owner=user, currency="USD")
    monkeypatch.setattr(outbox.services, "_relay_after_commit", lambda pk: None)  # the relay has not run
    body = _withdraw(user, bank_account_id=str(account.pk))
    BankAccount.objects.filter(pk=account.pk).update(deleted_at=timezone.now())

    # when the payout request runs
    (request,) = OutboxMessage.objects.filter(topic=PAYOUT_REQUEST_TOPIC)
    withdrawal_payout_request(**request.payload)

    # then
    withdrawal = txn(body["id"])
    assert withdrawal.status == TransactionStatus.VOIDED
    assert withdrawal.metadata["void_reason"] == "bank_account_not_found"
    assert not stripe_provider.calls("POST", "/v1/payouts")


@pytest.mark.parametrize("outcome", ["failed", "canceled"])
def test_a_failed_or_canceled_payout_voids_the_withdrawal_and_releases_the_hold(
    settings: SettingsWrapper, stripe_provider: StripeStandIn, outcome: str
) -> None:
    # given
    user = funded_user(settings)
    body = _withdraw(user)
    (payout,) = stripe_provider.payouts.values()

    # when
    assert deliver(_payout_event(stripe_provider, payout["id"], outcome)) == 200

    # then
    withdrawal = txn(body["id"])
    assert withdrawal.status == TransactionStatus.VOIDED
    assert withdrawal.metadata["void_reason"].startswith(f"payout_{outcome}")
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.held) == (Decimal("100.00"), Decimal("0.00"))
    assert_books_balance()


def test_a_payout_failing_after_it_was_paid_is_booked_as_a_reversal_once(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given a withdrawal posted by payout.paid
    user = funded_user(settings)
    body = _withdraw(user)
    (payout,) = stripe_provider.payouts.values()
    assert deliver(_payout_event(stripe_provider, payout["id"], "paid")) == 200
    assert wallet_of(user).balance == Decimal("60.00")

    # when the bank returns the money: payout.failed after paid (delivered twice)
    failed = _payout_event(stripe_provider, payout["id"], "failed", failure_code="account_closed")
    assert deliver(failed) == 200
    assert deliver(failed) == 200

    # then the posted withdrawal stays posted and one reversal gives the money back
    withdrawal = txn(body["id"])
    assert withdrawal.status == TransactionStatus.POSTED
    reversal = withdrawal.reversed_by
    assert reversal.type == TransactionType.REVERSAL
    assert reversal.amount == Decimal("40.00")
    assert "account_closed" in reversal.description
    assert wallet_of(user).balance == Decimal("100.00")
    assert_books_balance()


def test_paid_after_the_withdrawal_was_voided_is_an_issue_not_a_debit(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given a withdrawal voided by payout.failed
    user = funded_user(settings)
    body = _withdraw(user)
    (payout,) = stripe_provider.payouts.values()
    assert deliver(_payout_event(stripe_provider, payout["id"], "failed")) == 200

    # when a (stale) payout.paid arrives
    stale_paid = StripeStandIn.event("payout.paid", {**payout, "status": "paid"})
    assert deliver(stale_paid) == 200

    # then nothing is debited; staff see a status mismatch
    assert txn(body["id"]).status == TransactionStatus.VOIDED
    assert wallet_of(user).balance == Decimal("100.00")
    assert ReconciliationIssue.objects.get().kind == ReconciliationIssueKind.STATUS_MISMATCH


def test_a_payout_event_with_the_wrong_amount_is_not_booked(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given
    user = funded_user(settings)
    body = _withdraw(user)
    (payout,) = stripe_provider.payouts.values()

    # when
    assert deliver(StripeStandIn.event("payout.paid", {**payout, "status": "paid", "amount": 1})) == 200

    # then
    assert txn(body["id"]).status == TransactionStatus.PENDING
    assert ReconciliationIssue.objects.get().kind == ReconciliationIssueKind.AMOUNT_MISMATCH


def test_an_automatic_payout_of_the_platform_balance_is_ignored(stripe_provider: StripeStandIn) -> None:
    # given Stripe's scheduled payout of the platform's own balance (no withdrawal behind it)
    automatic = {
        "id": "po_automatic_1",
        "object": "payout",
        "amount": 123456,
        "currency": "usd",
        "automatic": True,
        "metadata": {},
        "status": "paid",
    }

    # when
    assert deliver(StripeStandIn.event("payout.paid", automatic)) == 200

    # then
    assert not ReconciliationIssue.objects.exists()
