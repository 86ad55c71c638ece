"""The REST concurrency scenarios through GraphQL: real PostgreSQL, real threads, real commits
(the autouse fixture runs verify_ledger after each test)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from graphql_api.tests.conftest import access_for
from ledger.models import LedgerTransaction, TransactionType
from ledger.tests.factories import funded_wallet
from ledger.tests.test_concurrency import balance, run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TRANSFER = (
    "mutation($w: String!, $a: Decimal!, $r: String, $k: String) "
    "{ transfer(fromWalletId: $w, input: {amount: $a, recipient: $r, idempotencyKey: $k}) { id } }"
)


def _post(access: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = Client().post(
        "/graphql/",
        {"query": TRANSFER, "variables": variables},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )
    assert response.status_code == 200
    return response.json()


def _outcome(body: Any) -> str:
    assert not isinstance(body, BaseException), repr(body)
    return "ok" if not body.get("errors") else body["errors"][0]["extensions"]["code"]


def test_twenty_whole_balance_transfers_exactly_one_succeeds() -> None:
    # given
    wallet = funded_wallet(amount="50.00")
    recipients = [funded_wallet(amount="0").user for _ in range(20)]
    access = access_for(wallet.user)  # type: ignore[arg-type]
    # when
    bodies = run_concurrently(
        20,
        lambda i: _post(access, {"w": str(wallet.public_id), "a": "50.00", "r": recipients[i].username}),  # type: ignore[union-attr]
    )
    # then
    assert Counter(map(_outcome, bodies)) == Counter({"ok": 1, "insufficient_funds": 19})
    assert balance(wallet.user) == 0  # type: ignore[arg-type]


def test_same_idempotency_key_ten_times_at_once_moves_money_once() -> None:
    # given
    wallet = funded_wallet(amount="100.00")
    recipient = funded_wallet(amount="0").user
    assert recipient is not None
    access = access_for(wallet.user)  # type: ignore[arg-type]
    variables = {"w": str(wallet.public_id), "a": "10.00", "r": recipient.username, "k": "gql-once"}
    # when
    bodies = run_concurrently(10, lambda i: _post(access, variables))
    # then
    outcomes = Counter(map(_outcome, bodies))
    assert set(outcomes) <= {"ok", "idempotency_key_in_use"} and outcomes["ok"] >= 1
    assert len({b["data"]["transfer"]["id"] for b in bodies if _outcome(b) == "ok"}) == 1  # type: ignore[index]
    assert balance(recipient) == Decimal("10.00")
    assert LedgerTransaction.objects.filter(type=TransactionType.TRANSFER).count() == 1


def test_mixed_rest_and_graphql_transfers_conserve_money() -> None:
    # given
    a = funded_wallet(amount="500.00")
    b = funded_wallet(amount="500.00")
    assert a.user is not None and b.user is not None
    tokens = {a.user.pk: access_for(a.user), b.user.pk: access_for(b.user)}
    n = 30

    def work(i: int) -> str:
        sender, recipient = (a, b) if i % 2 == 0 else (b, a)
        access = tokens[sender.user.pk]  # type: ignore[union-attr]
        amount = f"{1 + i % 5}.{i:02d}"
        if i % 3 == 0:  # REST
            response = Client().post(
                "/api/v1/transactions/transfer/",
                {"recipient": recipient.user.username, "currency": "USD", "amount": amount},  # type: ignore[union-attr]
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {access}",
            )
            return "ok" if response.status_code == 201 else response.json()["errors"][0]["code"]
        return _outcome(_post(access, {"w": str(sender.public_id), "a": amount, "r": recipient.user.username}))  # type: ignore[union-attr]

    # when
    outcomes = run_concurrently(n, work)
    # then
    assert Counter(outcomes) == Counter({"ok": n})
    assert balance(a.user) + balance(b.user) == Decimal("1000.00")
