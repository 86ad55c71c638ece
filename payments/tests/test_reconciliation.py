"""Reconciliation: stale pending Stripe deposits/withdrawals settled from Stripe's state."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

import outbox.services
from accounts.tests.factories import UserFactory
from ledger.models import LedgerTransaction, TransactionStatus
from payments.deposits import deposit_create
from payments.exceptions import JobLockUnavailable
from payments.job_lock import single_run_lock
from payments.models import ReconciliationIssue, ReconciliationIssueKind
from payments.reconciliation import LOCK_NAME, payments_reconcile
from payments.tasks import reconcile_payments
from payments.tests.flows import assert_books_balance, client_for, funded_user, wallet_of
from payments.tests.stripe_standin import StripeStandIn
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)

LATER = timedelta(minutes=31)  # past RECONCILIATION_PENDING_MINUTES (30)


def _pending_deposit(amount: str = "10.00") -> LedgerTransaction:
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    deposit, _ = deposit_create(user=user, currency="USD", amount=Decimal(amount))
    return deposit


def _reconcile(**kwargs: Any) -> Any:
    return payments_reconcile(now=timezone.now() + LATER, **kwargs)


def test_a_succeeded_payment_whose_webhook_never_came_is_posted(stripe_provider: StripeStandIn) -> None:
    # given a pending deposit whose PaymentIntent succeeded at Stripe (no webhook delivered)
    deposit = _pending_deposit()
    stripe_provider.succeed_payment_intent(deposit.reference)

    # when reconciliation runs before and after the pending age
    early = payments_reconcile()
    report = _reconcile()

    # then only the later run settled it, through the webhook's service; a re-run changes nothing
    assert early.deposits_checked == 0
    assert report.deposits_checked == 1
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.POSTED
    assert deposit.credit_wallet.balance == Decimal("10.00")
    assert _reconcile().deposits_checked == 0
    assert_books_balance()


def test_a_mismatching_payment_intent_is_recorded_not_credited(stripe_provider: StripeStandIn) -> None:
    # given Stripe reports a different amount received than the ledger expects
    deposit = _pending_deposit()
    stripe_provider.succeed_payment_intent(deposit.reference)
    stripe_provider.payment_intents[deposit.reference]["amount_received"] = 1

    # when
    _reconcile()
    _reconcile()

    # then
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.PENDING
    issue = ReconciliationIssue.objects.get()
    assert (issue.kind, issue.stripe_object_id) == (ReconciliationIssueKind.AMOUNT_MISMATCH, deposit.reference)


def test_a_reference_stripe_does_not_know_is_an_unknown_object_issue(stripe_provider: StripeStandIn) -> None:
    # given
    deposit = _pending_deposit()
    del stripe_provider.payment_intents[deposit.reference]

    # when
    _reconcile()

    # then
    assert deposit.__class__.objects.get(pk=deposit.pk).status == TransactionStatus.PENDING
    assert ReconciliationIssue.objects.get().kind == ReconciliationIssueKind.UNKNOWN_OBJECT


def test_a_canceled_payment_intent_fails_the_deposit(stripe_provider: StripeStandIn) -> None:
    # given
    deposit = _pending_deposit()
    stripe_provider.payment_intents[deposit.reference]["status"] = "canceled"

    # when
    _reconcile()

    # then
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.FAILED


def test_a_withdrawal_that_never_got_its_payout_gets_exactly_one_then_settles(
    settings: SettingsWrapper, stripe_provider: StripeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a withdrawal whose payout request has not been relayed (its outbox row still waits)
    user = funded_user(settings)
    monkeypatch.setattr(outbox.services, "_relay_after_commit", lambda pk: None)
    response = client_for(user).post("/api/v1/transactions/withdraw/", {"currency": "USD", "amount": "25.00"})
    assert response.status_code == 201  # the hold is committed; the broker error is not the caller's
    withdrawal = LedgerTransaction.objects.get(public_id=response.json()["id"])
    assert not stripe_provider.payouts

    # when reconciliation runs twice
    first = _reconcile()
    second = _reconcile()

    # then the payout was requested once (then found by its reference)
    assert first.payouts_requested == 1
    assert second.payouts_requested == 0
    (payout,) = stripe_provider.payouts.values()
    assert {c.idempotency_key for c in stripe_provider.calls("POST", "/v1/payouts")} == {
        f"vaultcore:payout:{withdrawal.public_id}"
    }
    withdrawal.refresh_from_db()
    assert withdrawal.reference == payout["id"]

    # when Stripe pays it and no webhook arrives
    stripe_provider.set_payout_status(payout["id"], "paid")
    _reconcile()

    # then it is posted
    withdrawal.refresh_from_db()
    assert withdrawal.status == TransactionStatus.POSTED
    assert wallet_of(user).balance == Decimal("75.00")
    assert_books_balance()


def test_dry_run_changes_nothing(stripe_provider: StripeStandIn) -> None:
    # given
    deposit = _pending_deposit()
    stripe_provider.succeed_payment_intent(deposit.reference)

    # when
    report = _reconcile(dry_run=True)

    # then
    assert report.dry_run and report.deposits_checked == 1
    assert "would settle" in report.outcomes[0]["outcome"]
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.PENDING


def test_stripe_unavailable_leaves_everything_for_the_next_run(stripe_provider: StripeStandIn) -> None:
    # given
    deposit = _pending_deposit()
    stripe_provider.succeed_payment_intent(deposit.reference)
    stripe_provider.inject("500", times=4)

    # when
    report = _reconcile()

    # then
    assert report.unavailable == 1
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.PENDING


@pytest.mark.parametrize("redis", [True, False], ids=["redis-lock", "postgres-advisory-lock"])
def test_only_one_run_at_a_time(settings: SettingsWrapper, stripe_provider: StripeStandIn, redis: bool) -> None:
    # given another host holds the reconciliation lock
    if not redis:
        settings.REDIS_URL = ""
    elif not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    holding, release = threading.Event(), threading.Event()

    def other_host() -> None:
        try:
            with single_run_lock(LOCK_NAME) as acquired:
                assert acquired
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_host)
    thread.start()
    assert holding.wait(10)
    try:
        # when this host tries to run
        with pytest.raises(JobLockUnavailable):
            payments_reconcile()
        with pytest.raises(CommandError, match="holds the lock"):
            call_command("reconcile_payments")
        assert reconcile_payments.delay().get() is None  # the beat task just skips
    finally:
        release.set()
        thread.join(10)

    # then once released, it runs
    assert payments_reconcile().dry_run is False


def test_command_json_output_and_since(settings: SettingsWrapper, stripe_provider: StripeStandIn) -> None:
    # given a pending deposit whose payment succeeded, and every pending age counting as stale
    settings.RECONCILIATION_PENDING_MINUTES = 0
    deposit = _pending_deposit()
    stripe_provider.succeed_payment_intent(deposit.reference)

    # when: --since after it skips it; without --since, --dry-run reports it; then a real run
    out = StringIO()
    call_command(
        "reconcile_payments", "--json", "--since", (timezone.now() + timedelta(minutes=5)).isoformat(), stdout=out
    )
    skipped = json.loads(out.getvalue())
    out = StringIO()
    call_command("reconcile_payments", "--json", "--dry-run", stdout=out)
    dry = json.loads(out.getvalue())
    out = StringIO()
    call_command("reconcile_payments", stdout=out)

    # then
    assert skipped["deposits_checked"] == 0
    assert dry["dry_run"] is True and dry["deposits_checked"] == 1
    assert dry["outcomes"][0]["transaction"] == str(deposit.public_id)
    assert "1 deposit(s) and 0 withdrawal(s) checked" in out.getvalue()
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.POSTED


def test_command_refuses_a_bad_since() -> None:
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("reconcile_payments", "--since", "yesterday")


def test_the_beat_task_reconciles_and_returns_a_summary(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given a stale pending deposit whose payment succeeded
    settings.RECONCILIATION_PENDING_MINUTES = 0
    deposit = _pending_deposit()
    stripe_provider.succeed_payment_intent(deposit.reference)

    # when
    summary = reconcile_payments.delay().get()

    # then
    assert summary is not None
    assert (summary["deposits_checked"], summary["withdrawals_checked"]) == (1, 0)
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.POSTED
    assert "payments-reconcile" in settings.CELERY_BEAT_SCHEDULE


def test_the_beat_task_does_nothing_without_stripe(settings: SettingsWrapper) -> None:
    settings.PAYMENTS_PROVIDER = "sandbox"
    assert reconcile_payments.delay().get() is None


def test_a_deposit_never_paid_is_abandoned_after_the_abandon_age(stripe_provider: StripeStandIn) -> None:
    # given a deposit whose PaymentIntent still waits for a payment method
    deposit = _pending_deposit()

    # when reconciliation runs after the pending age, then after the abandon age (24 h)
    _reconcile()
    pending_after_first = LedgerTransaction.objects.get(pk=deposit.pk).status
    payments_reconcile(now=timezone.now() + timedelta(hours=25))

    # then only the second run canceled the PaymentIntent and failed the deposit
    assert pending_after_first == TransactionStatus.PENDING
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.FAILED
    assert deposit.metadata["failure_reason"] == "canceled"
    assert stripe_provider.payment_intents[deposit.reference]["status"] == "canceled"
