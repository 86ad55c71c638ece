"""Stripe deposits end to end: API -> PaymentIntent at the stand-in -> signed webhook -> posted."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from ledger.models import TransactionStatus
from payments.deposits import deposit_create
from payments.models import ReconciliationIssue, ReconciliationIssueKind, StripeEvent, StripeEventStatus
from payments.tests.flows import (
    WEBHOOK_URL,
    assert_books_balance,
    client_for,
    credits_of,
    deliver,
    only_payment_intent,
    txn,
    wallet_of,
)
from payments.tests.signing import signed_delivery
from payments.tests.stripe_standin import StripeStandIn
from wallets.models import Wallet, WalletStatus
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_deposit_is_posted_only_by_a_correctly_signed_webhook_exactly_once(stripe_provider: StripeStandIn) -> None:
    # given a user with an empty USD wallet
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    api = client_for(user)

    # when the deposit is requested through the API
    response = api.post("/api/v1/transactions/deposit/", {"currency": "USD", "amount": "25.50"})

    # then it is pending with the PaymentIntent's client secret, and nothing is credited
    assert response.status_code == 201, response.content
    body = response.json()
    pi = only_payment_intent(stripe_provider)
    assert body["status"] == "pending"
    assert body["payment"] == {"provider": "stripe", "client_secret": pi["client_secret"]}
    assert pi["amount"] == 2550 and pi["currency"] == "usd"
    assert pi["metadata"]["ledger_transaction_id"] == body["id"]
    create_call = stripe_provider.calls("POST", "/v1/payment_intents")[0]
    assert create_call.idempotency_key == f"vaultcore:deposit:{body['id']}"
    assert api.get(f"/api/v1/transactions/{body['id']}/").json()["status"] == "pending"

    # when a forged and a stale delivery of "succeeded" arrive
    stripe_provider.succeed_payment_intent(pi["id"])
    event = StripeStandIn.event("payment_intent.succeeded", stripe_provider.payment_intents[pi["id"]])
    forged = Client().post(WEBHOOK_URL, **signed_delivery(event, secret="whsec_forged"))
    stale = Client().post(WEBHOOK_URL, **signed_delivery(event, timestamp=int(time.time()) - 600))

    # then both are refused and the deposit is still pending
    assert (forged.status_code, stale.status_code) == (400, 400)
    assert not StripeEvent.objects.exists()
    assert api.get(f"/api/v1/transactions/{body['id']}/").json()["status"] == "pending"

    # when the correctly signed event arrives, then again (duplicate), then Stripe sends a new
    # event for the same PaymentIntent
    assert deliver(event) == 200
    assert deliver(event) == 200
    again = StripeStandIn.event("payment_intent.succeeded", stripe_provider.payment_intents[pi["id"]])
    assert deliver(again) == 200

    # then the deposit is posted once, seen through the API
    seen = api.get(f"/api/v1/transactions/{body['id']}/").json()
    assert seen["status"] == "posted"
    assert seen["reference"] == pi["id"]
    assert seen["balance_after"] == "25.50"
    wallet = wallet_of(user)
    assert wallet.balance == Decimal("25.50")
    assert credits_of(wallet) == 1
    assert StripeEvent.objects.filter(status=StripeEventStatus.PROCESSED).count() == 2
    assert not ReconciliationIssue.objects.exists()
    assert_books_balance()


@pytest.mark.parametrize(
    ("currency", "amount", "minor"), [("JPY", "500", 500), ("KWD", "5.120", 5120), ("EUR", "0.01", 1)]
)
def test_payment_intent_amount_is_in_the_currencys_minor_units(
    stripe_provider: StripeStandIn, currency: str, amount: str, minor: int
) -> None:
    # given
    user = UserFactory.create()
    WalletFactory.create(user=user, currency=currency)

    # when
    txn_, result = deposit_create(user=user, currency=currency, amount=Decimal(amount))

    # then
    pi = only_payment_intent(stripe_provider)
    assert (pi["amount"], pi["currency"]) == (minor, currency.lower())
    assert txn_.status == TransactionStatus.PENDING
    assert result.client_secret == pi["client_secret"]


def test_a_timed_out_create_call_is_retried_with_the_same_key_and_makes_one_payment_intent(
    stripe_provider: StripeStandIn,
) -> None:
    # given Stripe creates the PaymentIntent but the answer is lost (client timeout)
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    stripe_provider.inject("timeout")

    # when
    deposit, result = deposit_create(user=user, currency="USD", amount=Decimal("10.00"))

    # then the retry with the same key replayed the first PaymentIntent
    calls = stripe_provider.calls("POST", "/v1/payment_intents")
    assert len(calls) == 2
    assert {c.idempotency_key for c in calls} == {f"vaultcore:deposit:{deposit.public_id}"}
    pi = only_payment_intent(stripe_provider)
    assert deposit.reference == pi["id"]
    assert result.client_secret == pi["client_secret"]


def test_stripe_down_marks_the_deposit_failed_with_503(stripe_provider: StripeStandIn) -> None:
    # given Stripe answers 500 to every attempt
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    stripe_provider.inject("500", times=10)

    api = client_for(user)
    api.raise_request_exception = False  # a 5xx is reported like an unhandled error; we want the answer

    # when
    response = api.post("/api/v1/transactions/deposit/", {"currency": "USD", "amount": "10.00"})

    # then the caller may retry; the deposit is failed and nothing was credited
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert wallet_of(user).balance == 0
    assert len(stripe_provider.calls("POST", "/v1/payment_intents")) == 4  # 1 + STRIPE_MAX_RETRIES, same key


def _pending_deposit(
    standin: StripeStandIn, amount: str = "10.00", currency: str = "USD"
) -> tuple[Any, dict[str, Any]]:
    user = UserFactory.create()
    WalletFactory.create(user=user, currency=currency)
    deposit, _ = deposit_create(user=user, currency=currency, amount=Decimal(amount))
    return deposit, only_payment_intent(standin)


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"amount": 999, "amount_received": 999}, ReconciliationIssueKind.AMOUNT_MISMATCH),
        ({"currency": "eur"}, ReconciliationIssueKind.CURRENCY_MISMATCH),
        ({"id": "pi_unknown", "metadata": {}}, ReconciliationIssueKind.UNKNOWN_OBJECT),
        ({"metadata": {"ledger_transaction_id": "00000000-0000-4000-8000-000000000000"}}, None),
    ],
    ids=["wrong-amount", "wrong-currency", "unknown-payment-intent", "unknown-transaction"],
)
def test_a_succeeded_event_that_does_not_match_credits_nothing_and_records_an_issue(
    stripe_provider: StripeStandIn, change: dict[str, Any], kind: ReconciliationIssueKind | None
) -> None:
    # given a pending deposit of 10.00 USD
    deposit, pi = _pending_deposit(stripe_provider)
    succeeded = {**stripe_provider.succeed_payment_intent(pi["id"]), **change}

    # when a signed succeeded event that disagrees with the ledger arrives
    event = StripeStandIn.event("payment_intent.succeeded", succeeded)
    assert deliver(event) == 200

    # then nothing is credited, the event is processed with a note and an issue is open
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.PENDING
    assert deposit.credit_wallet.balance == 0
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert stored.status == StripeEventStatus.PROCESSED
    assert stored.note.startswith("Not booked")
    issue = ReconciliationIssue.objects.get()
    assert issue.kind == (kind or ReconciliationIssueKind.UNKNOWN_OBJECT)
    assert issue.stripe_event_id == event["id"]
    assert issue.status == "open"
    # a duplicate of the same event adds no second issue
    assert deliver(event) == 200
    assert ReconciliationIssue.objects.count() == 1


def test_succeeded_arriving_before_the_create_call_returned_ends_posted_once(
    settings: SettingsWrapper, stripe_provider: StripeStandIn
) -> None:
    # given Stripe's answer to the create call is slow (but within the client's timeout)
    settings.STRIPE_TIMEOUT = 5.0
    stripe_provider.timeout_delay = 1.5
    stripe_provider.inject("timeout")
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    results: dict[str, Any] = {}

    def request_deposit() -> None:
        try:
            results["deposit"] = deposit_create(user=user, currency="USD", amount=Decimal("42.00"))[0]
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=request_deposit)
    thread.start()
    deadline = time.monotonic() + 5
    while not stripe_provider.payment_intents and time.monotonic() < deadline:
        time.sleep(0.02)
    pi = only_payment_intent(stripe_provider)

    # when the payment succeeds and its webhook arrives while the create call is still running
    assert (
        deliver(StripeStandIn.event("payment_intent.succeeded", stripe_provider.succeed_payment_intent(pi["id"])))
        == 200
    )
    posted_early = txn(pi["metadata"]["ledger_transaction_id"]).status
    thread.join(timeout=10)

    # then the webhook posted it, and the late answer did not undo or repeat anything
    assert posted_early == TransactionStatus.POSTED
    deposit = txn(pi["metadata"]["ledger_transaction_id"])
    assert results["deposit"].pk == deposit.pk
    assert deposit.status == TransactionStatus.POSTED
    assert deposit.reference == pi["id"]
    wallet = wallet_of(user)
    assert wallet.balance == Decimal("42.00")
    assert credits_of(wallet) == 1
    assert_books_balance()


def test_payment_failed_marks_the_deposit_failed_and_cancels_the_payment_intent(stripe_provider: StripeStandIn) -> None:
    # given
    deposit, pi = _pending_deposit(stripe_provider)

    # when the payment fails
    failed = stripe_provider.fail_payment_intent(pi["id"])
    assert deliver(StripeStandIn.event("payment_intent.payment_failed", failed)) == 200

    # then the deposit failed (reason kept) and the PaymentIntent can no longer collect money
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.FAILED
    assert deposit.metadata["failure_reason"] == "payment_failed:card_declined"
    assert stripe_provider.payment_intents[pi["id"]]["status"] == "canceled"

    # when a late "succeeded" for it arrives anyway (e.g. out of order)
    late = {**stripe_provider.payment_intents[pi["id"]], "status": "succeeded", "amount_received": pi["amount"]}
    assert deliver(StripeStandIn.event("payment_intent.succeeded", late)) == 200

    # then nothing is credited; staff get a status-mismatch issue
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.FAILED
    assert deposit.credit_wallet.balance == 0
    assert ReconciliationIssue.objects.get().kind == ReconciliationIssueKind.STATUS_MISMATCH


def test_canceled_payment_intent_marks_the_deposit_failed(stripe_provider: StripeStandIn) -> None:
    # given
    deposit, pi = _pending_deposit(stripe_provider)
    canceled = {**pi, "status": "canceled", "cancellation_reason": "abandoned"}

    # when
    assert deliver(StripeStandIn.event("payment_intent.canceled", canceled)) == 200

    # then
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.FAILED
    assert deposit.metadata["failure_reason"] == "canceled"


def test_a_failed_attempt_delivered_after_success_changes_nothing(stripe_provider: StripeStandIn) -> None:
    # given a deposit posted by its succeeded event
    deposit, pi = _pending_deposit(stripe_provider)
    first_attempt = {**pi, "status": "requires_payment_method", "last_payment_error": {"code": "card_declined"}}
    assert (
        deliver(StripeStandIn.event("payment_intent.succeeded", stripe_provider.succeed_payment_intent(pi["id"])))
        == 200
    )

    # when the first attempt's payment_failed event arrives late
    assert deliver(StripeStandIn.event("payment_intent.payment_failed", first_attempt)) == 200

    # then
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.POSTED
    assert deposit.credit_wallet.balance == Decimal("10.00")
    assert stripe_provider.payment_intents[pi["id"]]["status"] == "succeeded"


# --- Idempotency-Key across a Stripe outage (over HTTP to a live server) ----------------------
def _logged_in(live_server: LiveServer, user: User) -> requests.Session:
    http = requests.Session()
    login = http.post(
        f"{live_server.url}/api/v1/auth/token/",
        json={"username": user.username, "password": DEFAULT_PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Bearer {login.json()['access']}"
    return http


def test_a_retry_with_the_same_key_after_a_stripe_outage_tries_again(
    live_server: LiveServer, stripe_provider: StripeStandIn
) -> None:
    # given Stripe is down for every attempt of the first request (1 + STRIPE_MAX_RETRIES)
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    http = _logged_in(live_server, user)
    stripe_provider.inject("500", times=4)
    url = f"{live_server.url}/api/v1/transactions/deposit/"
    body = {"currency": "USD", "amount": "10.00"}
    headers = {"Idempotency-Key": "deposit-outage-1"}

    # when the deposit is requested during the outage
    first = http.post(url, json=body, headers=headers, timeout=30)

    # then 503, nothing moved
    assert first.status_code == 503, first.text
    assert first.json()["errors"][0]["code"] == "service_unavailable"
    assert len(stripe_provider.calls("POST", "/v1/payment_intents")) == 4
    assert not stripe_provider.payment_intents

    # when Stripe is back and the client retries with the same key
    second = http.post(url, json=body, headers=headers, timeout=30)

    # then Stripe is asked again and the deposit is created, not the 503 replayed
    assert second.status_code == 201, second.text
    assert "Idempotent-Replayed" not in second.headers
    pi = only_payment_intent(stripe_provider)
    assert second.json()["status"] == "pending"
    assert second.json()["payment"] == {"provider": "stripe", "client_secret": pi["client_secret"]}

    # when the client retries once more with the same key
    third = http.post(url, json=body, headers=headers, timeout=30)

    # then the success is replayed and Stripe is not called again
    assert third.status_code == 201
    assert third.headers["Idempotent-Replayed"] == "true"
    assert third.json() == second.json()
    assert len(stripe_provider.calls("POST", "/v1/payment_intents")) == 5
    assert only_payment_intent(stripe_provider)["id"] == pi["id"]

    # and the payment, once Stripe confirms it, credits the wallet once
    stripe_provider.succeed_payment_intent(pi["id"])
    assert deliver(StripeStandIn.event("payment_intent.succeeded", stripe_provider.payment_intents[pi["id"]])) == 200
    assert wallet_of(user).balance == Decimal("10.00")
    assert credits_of(wallet_of(user)) == 1
    assert_books_balance()


def test_refusals_before_and_by_stripe_are_replayed_with_the_same_key(
    live_server: LiveServer, stripe_provider: StripeStandIn
) -> None:
    # given a frozen wallet and a wallet whose card Stripe declines at creation
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD", status=WalletStatus.FROZEN)
    WalletFactory.create(user=user, currency="EUR")
    http = _logged_in(live_server, user)
    url = f"{live_server.url}/api/v1/transactions/deposit/"

    # when a deposit into the frozen wallet is requested twice with one key
    frozen = [
        http.post(url, json={"currency": "USD", "amount": "5.00"}, headers={"Idempotency-Key": "frozen"}, timeout=30)
        for _ in range(2)
    ]
    # then the 423 is the key's answer: the same body again, marked replayed, Stripe never asked
    assert [r.status_code for r in frozen] == [423, 423]
    assert frozen[0].json()["errors"][0]["code"] == "wallet_frozen"
    assert frozen[1].content == frozen[0].content
    assert frozen[1].headers["Idempotent-Replayed"] == "true"
    assert not stripe_provider.calls("POST", "/v1/payment_intents")

    # when Stripe rejects the payment (a 4xx: final, not an outage) and the client retries
    stripe_provider.inject("402")
    declined = [
        http.post(url, json={"currency": "EUR", "amount": "5.00"}, headers={"Idempotency-Key": "declined"}, timeout=30)
        for _ in range(2)
    ]
    # then the failed deposit is the key's answer; Stripe was asked once
    assert [r.status_code for r in declined] == [201, 201]
    assert declined[0].json()["status"] == "failed"
    assert declined[1].content == declined[0].content
    assert declined[1].headers["Idempotent-Replayed"] == "true"
    assert len(stripe_provider.calls("POST", "/v1/payment_intents")) == 1
    assert Wallet.objects.get(user=user, currency="EUR").balance == 0
