"""Every operation of the contract through HTTP POSTs to /graphql/ on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from graphql_api.tests.conftest import access_for, codes, gql
from ledger.models import IdempotencyKey, LedgerTransaction
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

WALLET_FIELDS = "id userId currency balance availableBalance isActive status createdAt"
TXN_FIELDS = (
    "id amount currency transactionType status direction balanceAfter counterparty description reference "
    "metadata stripePaymentIntentId stripeTransferId createdAt postedAt"
)
DEPOSIT = (
    "mutation($w: String!, $a: Decimal!, $k: String) { deposit(walletId: $w, "
    f"input: {{amount: $a, idempotencyKey: $k}}) {{ {TXN_FIELDS} }} }}"
)
WITHDRAW = f"mutation($w: String!, $a: Decimal!) {{ withdraw(walletId: $w, input: {{amount: $a}}) {{ {TXN_FIELDS} }} }}"
TRANSFER = (
    "mutation($w: String!, $a: Decimal!, $r: String, $rw: String, $k: String) { transfer(fromWalletId: $w, "
    f"input: {{amount: $a, recipient: $r, receiverWalletId: $rw, idempotencyKey: $k}}) {{ {TXN_FIELDS} }} }}"
)
HISTORY = (
    "query($w: String!, $l: Int, $o: Int) { getTransactionHistory(walletId: $w, limit: $l, offset: $o) "
    f"{{ {TXN_FIELDS} }} }}"
)


def test_create_wallet_then_second_one_is_wallet_exists() -> None:
    # given
    user = UserFactory.create()
    query = f'mutation {{ createWallet(input: {{currency: "USD"}}) {{ {WALLET_FIELDS} }} }}'
    # when
    first = gql(query, user=user)
    second = gql(query, user=user)
    # then
    wallet = Wallet.objects.get(user=user)
    assert first["data"]["createWallet"]["id"] == str(wallet.public_id)
    assert first["data"]["createWallet"]["balance"] == "0.00"
    assert first["data"]["createWallet"]["isActive"] is True
    assert second["data"] is None and codes(second) == ["wallet_exists"]


def test_deposit_withdraw_transfer_and_history() -> None:
    # given
    alice = funded_wallet(amount="100.00")
    bob = funded_wallet(amount="0")
    assert alice.user is not None and bob.user is not None
    # when
    dep = gql(DEPOSIT, {"w": str(alice.public_id), "a": "10.50"}, user=alice.user)
    wd = gql(WITHDRAW, {"w": str(alice.public_id), "a": "5.00"}, user=alice.user)
    tr = gql(TRANSFER, {"w": str(alice.public_id), "a": "20.00", "rw": str(bob.public_id)}, user=alice.user)
    tr2 = gql(TRANSFER, {"w": str(alice.public_id), "a": "1.00", "r": bob.user.username}, user=alice.user)
    history = gql(HISTORY, {"w": str(alice.public_id), "l": 2}, user=alice.user)
    # then
    assert dep["data"]["deposit"]["amount"] == "10.50"
    assert dep["data"]["deposit"]["transactionType"] == "deposit"
    assert wd["data"]["withdraw"]["transactionType"] == "withdrawal"
    assert tr["data"]["transfer"]["direction"] == "debit"
    assert tr["data"]["transfer"]["counterparty"] == bob.user.username
    assert tr2["data"]["transfer"]["balanceAfter"] == "89.50"  # the withdrawal is held until its payout is paid
    assert [t["amount"] for t in history["data"]["getTransactionHistory"]] == ["1.00", "20.00"]
    bob.refresh_from_db()
    assert bob.balance == Decimal("21.00")


def test_queries_wallet_balance_transaction_me() -> None:
    # given
    wallet = funded_wallet(amount="12.00")
    user = wallet.user
    assert user is not None
    txn = LedgerTransaction.objects.filter(credit_wallet=wallet).get()
    w = str(wallet.public_id)
    # when
    body = gql(
        f'query {{ getWallet(walletId: "{w}") {{ balance }} getWalletBalance(walletId: "{w}") {{ availableBalance }} '
        f'wallets {{ id }} getUserWallet {{ currency }} getTransaction(transactionId: "{txn.public_id}") {{ amount }} '
        "me { id username email firstName role isEmailVerified dateJoined } }",
        user=user,
    )
    # then
    assert "errors" not in body, body
    data = body["data"]
    assert data["getWallet"]["balance"] == "12.00"
    assert data["getWalletBalance"]["availableBalance"] == "12.00"
    assert data["wallets"] == [{"id": w}]
    assert data["getUserWallet"] == [{"currency": "USD"}]
    assert data["getTransaction"]["amount"] == "12.00"
    assert data["me"]["username"] == user.username


def test_another_users_wallet_is_wallet_not_found() -> None:
    # given
    mallory = UserFactory.create()
    victim = funded_wallet(amount="50.00")
    # when
    body = gql(TRANSFER, {"w": str(victim.public_id), "a": "50.00", "r": mallory.username}, user=mallory)
    read = gql(HISTORY, {"w": str(victim.public_id)}, user=mallory)
    # then
    assert body["data"] is None and codes(body) == ["wallet_not_found"]
    assert codes(read) == ["wallet_not_found"]
    assert body["errors"][0]["extensions"]["classification"] == "BAD_REQUEST"
    victim.refresh_from_db()
    assert victim.balance == Decimal("50.00")


@pytest.mark.parametrize(
    ("literal", "code"),
    [("10.5", "graphql_validation_failed"), ('"10.555"', "invalid"), ('"-1"', "invalid")],
)
def test_float_literal_or_over_precise_amount_refused_on_amount(literal: str, code: str) -> None:
    # given
    wallet = funded_wallet(amount="50.00")
    # when
    body = gql(
        f'mutation {{ deposit(walletId: "{wallet.public_id}", input: {{amount: {literal}}}) {{ id }} }}',
        user=wallet.user,
    )
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["attr"] == "amount"
    assert LedgerTransaction.objects.count() == 1


def test_unauthenticated_mutation_does_nothing() -> None:
    # given
    wallet = funded_wallet(amount="50.00")
    # when
    body = gql(DEPOSIT, {"w": str(wallet.public_id), "a": "10.00"})
    # then
    assert body["data"] is None and codes(body) == ["not_authenticated"]
    assert LedgerTransaction.objects.count() == 1


def test_cookie_auth_needs_csrf_and_works_with_it() -> None:
    # given a browser session: access cookie, csrftoken cookie
    wallet = funded_wallet(amount="50.00")
    assert wallet.user is not None
    client = Client(enforce_csrf_checks=True)
    client.cookies["access_token"] = access_for(wallet.user)
    variables = {"w": str(wallet.public_id), "a": "1.00"}
    # when
    refused = gql(DEPOSIT, variables, client=client)
    client.cookies["csrftoken"] = "a" * 32
    allowed = gql(DEPOSIT, variables, client=client, HTTP_X_CSRFTOKEN="a" * 32)
    # then
    assert codes(refused) == ["permission_denied"]
    assert "errors" not in allowed, allowed
    assert LedgerTransaction.objects.count() == 2


def test_same_key_replays_across_rest_and_graphql_and_other_input_is_reused() -> None:
    # given
    wallet = funded_wallet(amount="100.00")
    bob = funded_wallet(amount="0")
    assert wallet.user is not None and bob.user is not None
    client = Client()
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {access_for(wallet.user)}"}
    rest = client.post(
        "/api/v1/transactions/transfer/",
        {"recipient": bob.user.username, "currency": "USD", "amount": "10.00"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
        **auth,
    )
    # when
    replay = gql(
        TRANSFER, {"w": str(wallet.public_id), "a": "10", "rw": str(bob.public_id), "k": "k-1"}, client=client, **auth
    )
    reused = gql(
        TRANSFER,
        {"w": str(wallet.public_id), "a": "11.00", "rw": str(bob.public_id), "k": "k-1"},
        client=client,
        **auth,
    )
    # then
    assert rest.status_code == 201
    assert replay["data"]["transfer"]["id"] == rest.json()["id"]
    assert codes(reused) == ["idempotency_key_reused"]
    bob.refresh_from_db()
    assert bob.balance == Decimal("10.00")


def test_revoked_token_refused_on_the_next_request() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    assert wallet.user is not None
    access = access_for(wallet.user)
    client = Client()
    logout = client.post(
        "/api/v1/auth/logout/", {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    # when
    body = gql("{ me { id } }", client=client, HTTP_AUTHORIZATION=f"Bearer {access}")
    # then
    assert logout.status_code in (200, 204, 205)
    assert codes(body) == ["token_revoked"]


@pytest.mark.parametrize(("path", "mutation"), [("deposit", DEPOSIT), ("withdraw", None)])
def test_a_rest_deposit_or_withdrawal_key_replays_through_graphql(path: str, mutation: str | None) -> None:
    # given a REST call with an Idempotency-Key
    wallet = funded_wallet(amount="50.00")
    assert wallet.user is not None
    rest = Client(HTTP_AUTHORIZATION=f"Bearer {access_for(wallet.user)}").post(
        f"/api/v1/transactions/{path}/",
        {"currency": "USD", "amount": "5.00"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"cross-{path}",
    )
    assert rest.status_code == 201, rest.content
    before = LedgerTransaction.objects.count()
    # when the same operation and input arrive through GraphQL with the same key
    query = mutation or (
        "mutation($w: String!, $a: Decimal!, $k: String) { withdraw(walletId: $w, "
        "input: {amount: $a, idempotencyKey: $k}) { id } }"
    )
    answer = gql(query, {"w": str(wallet.public_id), "a": "5.00", "k": f"cross-{path}"}, user=wallet.user)
    # then the first result comes back and nothing new is written
    assert answer["data"][path]["id"] == rest.json()["id"]
    assert LedgerTransaction.objects.count() == before


def test_a_receiving_wallet_of_another_currency_or_unknown_is_refused_on_receiver_wallet_id() -> None:
    # given alice (USD) and bob, who holds USD and EUR
    alice = funded_wallet(amount="50.00")
    bob_usd = funded_wallet(amount="0")
    assert alice.user is not None and bob_usd.user is not None
    bob_eur = funded_wallet(user=bob_usd.user, currency="EUR", amount="0")
    # when alice names bob's EUR wallet, or a wallet that does not exist
    mismatch = gql(TRANSFER, {"w": str(alice.public_id), "a": "5.00", "rw": str(bob_eur.public_id)}, user=alice.user)
    unknown = gql(TRANSFER, {"w": str(alice.public_id), "a": "5.00", "rw": "no-such-wallet"}, user=alice.user)
    # then each is refused on receiverWalletId and no money moved (not even into bob's USD wallet)
    assert codes(mismatch) == ["currency_mismatch"] and codes(unknown) == ["recipient_not_found"]
    assert {e["extensions"]["attr"] for e in mismatch["errors"] + unknown["errors"]} == {"receiverWalletId"}
    alice.refresh_from_db()
    bob_usd.refresh_from_db()
    assert (alice.balance, bob_usd.balance) == (Decimal("50.00"), Decimal("0.00"))


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_during_a_mutation_is_service_unavailable_and_safe_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the database connection is killed just as the transfer starts writing (a failover)
    from ledger.services import transfers
    from vaultcore.tests.db_faults import terminated_before_first_call

    alice = funded_wallet(amount="50.00")
    bob = funded_wallet(amount="0")
    assert alice.user is not None and bob.user is not None
    monkeypatch.setattr(transfers, "post", terminated_before_first_call(transfers.post))
    variables = {"w": str(alice.public_id), "a": "5.00", "rw": str(bob.public_id), "k": "gql-lost-1"}
    client = Client()
    token = access_for(alice.user)
    # when
    response = client.post(
        "/graphql/",
        {"query": TRANSFER, "variables": variables},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    # then GraphQL's own error shape, code service_unavailable, with Retry-After; nothing kept
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None and codes(body) == ["service_unavailable"]
    assert body["errors"][0]["extensions"]["classification"] == "INTERNAL_SERVER_ERROR"
    assert response["Retry-After"] == "5"
    assert not IdempotencyKey.objects.filter(key="gql-lost-1").exists()
    # when retried with the same key, it runs once; again, it is replayed
    retried = gql(TRANSFER, variables, user=alice.user)
    replayed = gql(TRANSFER, variables, user=alice.user)
    assert retried["data"]["transfer"]["amount"] == "5.00"
    assert replayed["data"]["transfer"]["id"] == retried["data"]["transfer"]["id"]
    bob.refresh_from_db()
    assert bob.balance == Decimal("5.00")
