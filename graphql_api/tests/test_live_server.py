"""A client written for the "Secure Wallet System" operations, over real HTTP to a live server:
log in through REST, then createWallet, deposit, transfer, withdraw and getTransactionHistory."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _call(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql/", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


def test_the_five_operations_over_http(live_server: LiveServer) -> None:
    # given two users who log in through the REST API
    alice, bob = UserFactory.create(), UserFactory.create()
    clients = {}
    for user in (alice, bob):
        with httpx.Client(base_url=live_server.url, timeout=30) as rest:
            login = rest.post("/api/v1/auth/token/", json={"username": user.username, "password": DEFAULT_PASSWORD})
        clients[user.pk] = httpx.Client(
            base_url=live_server.url, timeout=30, headers={"Authorization": f"Bearer {login.json()['access']}"}
        )
    create = 'mutation { createWallet(input: {currency: "USD"}) { id balance } }'
    try:
        # when alice and bob open wallets, alice deposits, pays bob twice (once by wallet id) and
        # withdraws
        mine = _call(clients[alice.pk], create)["data"]["createWallet"]["id"]
        theirs = _call(clients[bob.pk], create)["data"]["createWallet"]["id"]
        deposit = _call(
            clients[alice.pk],
            'mutation($w: String!) { deposit(walletId: $w, input: {amount: "50.00"}) { status balanceAfter } }',
            w=mine,
        )
        by_name = _call(
            clients[alice.pk],
            "mutation($w: String!, $r: String) { transfer(fromWalletId: $w, "
            'input: {amount: "7.25", recipient: $r, idempotencyKey: "live-1"}) { id direction counterparty } }',
            w=mine,
            r=bob.email,
        )
        by_wallet = _call(
            clients[alice.pk],
            "mutation($w: String!, $to: String) { transfer(fromWalletId: $w, "
            'input: {amount: "2.75", receiverWalletId: $to}) { balanceAfter } }',
            w=mine,
            to=theirs,
        )
        withdraw = _call(
            clients[alice.pk],
            'mutation($w: String!) { withdraw(walletId: $w, input: {amount: "5.00"}) { status } }',
            w=mine,
        )
        history = _call(
            clients[alice.pk],
            "query($w: String!) { getTransactionHistory(walletId: $w, limit: 10) { transactionType amount } }",
            w=mine,
        )
        bob_wallet = _call(clients[bob.pk], "query($w: String!) { getWallet(walletId: $w) { balance } }", w=theirs)
        # then
        assert deposit["data"]["deposit"] == {"status": "posted", "balanceAfter": "50.00"}
        assert by_name["data"]["transfer"]["direction"] == "debit"
        assert by_name["data"]["transfer"]["counterparty"] == bob.username
        assert by_wallet["data"]["transfer"]["balanceAfter"] == "40.00"
        assert withdraw["data"]["withdraw"]["status"] in ("pending", "posted")
        assert [(t["transactionType"], t["amount"]) for t in history["data"]["getTransactionHistory"]] == [
            ("withdrawal", "5.00"),
            ("transfer", "2.75"),
            ("transfer", "7.25"),
            ("deposit", "50.00"),
        ]
        assert bob_wallet["data"]["getWallet"]["balance"] == "10.00"
    finally:
        for client in clients.values():
            client.close()
