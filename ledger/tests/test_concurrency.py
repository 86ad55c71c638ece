"""Real PostgreSQL, real threads, real commits: no interleaving creates, destroys or
double-spends money, and no deadlock reaches a client."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.db import connections
from django.db.models import Sum
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.models import LedgerTransaction, TransactionType
from ledger.tests.factories import funded_wallet
from ledger.verification import ledger_verify
from wallets.models import Wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

T = TypeVar("T")


def run_concurrently(n: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``work(i)`` for i in range(n) in n threads released together by a barrier. Each
    thread closes its own database connections at the end."""
    barrier = threading.Barrier(n)

    def worker(i: int) -> T | BaseException:
        try:
            barrier.wait(timeout=30)
            return work(i)
        except BaseException as exc:  # returned, so the test sees every outcome
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(worker, range(n)))


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.default_format = "json"
    client.force_authenticate(user)
    return client


def balance(user: User, currency: str = "USD") -> Decimal:
    return Wallet.objects.get(user=user, currency=currency).balance


def assert_ledger_clean() -> None:
    report = ledger_verify()
    assert report.ok, report.discrepancies
    for currency_total in Wallet.objects.values("currency").annotate(total=Sum("balance")):
        assert currency_total["total"] == 0


def codes(responses: list[Any]) -> Counter[tuple[int, str]]:
    out: Counter[tuple[int, str]] = Counter()
    for response in responses:
        assert not isinstance(response, BaseException), repr(response)
        code = response.json()["errors"][0]["code"] if response.status_code >= 400 else "ok"
        out[(response.status_code, code)] += 1
    return out


def test_opposite_direction_transfers_never_deadlock_and_conserve_money() -> None:
    # given
    a = funded_wallet(user=UserFactory.create(username="opp-a"), amount="1000.00").user
    b = funded_wallet(user=UserFactory.create(username="opp-b"), amount="1000.00").user
    assert a is not None and b is not None
    n = 40
    amounts = [Decimal(f"{1 + i % 7}.{i:02d}") for i in range(n)]

    def transfer(i: int) -> Any:
        sender, recipient = (a, b) if i % 2 == 0 else (b, a)
        return client_for(sender).post(
            "/api/v1/transactions/transfer/",
            {"recipient": recipient.username, "currency": "USD", "amount": str(amounts[i])},
        )

    # when
    responses = run_concurrently(n, transfer)
    # then every request succeeded: no deadlock or 503 reached a client
    assert codes(responses) == Counter({(201, "ok"): n})
    a_to_b = sum(amounts[i] for i in range(0, n, 2))
    b_to_a = sum(amounts[i] for i in range(1, n, 2))
    assert balance(a) == Decimal("1000.00") - a_to_b + b_to_a
    assert balance(a) + balance(b) == Decimal("2000.00")
    assert_ledger_clean()


def test_twenty_whole_balance_withdrawals_exactly_one_succeeds() -> None:
    # given
    user = funded_wallet(amount="50.00").user
    assert user is not None

    def withdraw(i: int) -> Any:
        return client_for(user).post("/api/v1/transactions/withdraw/", {"currency": "USD", "amount": "50.00"})

    # when
    responses = run_concurrently(20, withdraw)
    # then
    assert codes(responses) == Counter({(201, "ok"): 1, (422, "insufficient_funds"): 19})
    wallet = Wallet.objects.get(user=user)
    assert (wallet.balance, wallet.held) == (Decimal("0.00"), Decimal("0.00"))  # the sandbox paid it out
    assert LedgerTransaction.objects.filter(type=TransactionType.WITHDRAWAL).count() == 1
    assert_ledger_clean()


def test_twenty_whole_balance_transfers_exactly_one_succeeds() -> None:
    # given one sender and twenty recipients
    sender = funded_wallet(amount="50.00").user
    recipients = [funded_wallet(amount="0").user for _ in range(20)]
    assert sender is not None

    def transfer(i: int) -> Any:
        recipient = recipients[i]
        assert recipient is not None
        return client_for(sender).post(
            "/api/v1/transactions/transfer/", {"recipient": recipient.username, "currency": "USD", "amount": "50.00"}
        )

    # when
    responses = run_concurrently(20, transfer)
    # then
    assert codes(responses) == Counter({(201, "ok"): 1, (422, "insufficient_funds"): 19})
    assert balance(sender) == 0
    assert sum(balance(r) for r in recipients if r is not None) == Decimal("50.00")
    assert_ledger_clean()


def test_hot_wallet_receiving_and_sending_ends_at_the_arithmetic_expectation() -> None:
    # given a hot wallet and 12 peers
    hot = funded_wallet(amount="1000.00").user
    peers = [funded_wallet(amount="100.00").user for _ in range(12)]
    assert hot is not None
    n = 36

    def work(i: int) -> Any:
        peer = peers[i % len(peers)]
        assert peer is not None
        if i % 2 == 0:  # peer -> hot
            return client_for(peer).post(
                "/api/v1/transactions/transfer/", {"recipient": hot.username, "currency": "USD", "amount": "3.00"}
            )
        return client_for(hot).post(  # hot -> peer
            "/api/v1/transactions/transfer/", {"recipient": peer.username, "currency": "USD", "amount": "5.00"}
        )

    # when
    responses = run_concurrently(n, work)
    # then
    assert codes(responses) == Counter({(201, "ok"): n})
    incoming, outgoing = Decimal("3.00") * (n // 2), Decimal("5.00") * (n // 2)
    assert balance(hot) == Decimal("1000.00") + incoming - outgoing
    assert_ledger_clean()


def test_same_idempotency_key_ten_times_at_once_moves_money_once() -> None:
    # given
    sender = funded_wallet(amount="100.00").user
    recipient = funded_wallet(amount="0").user
    assert sender is not None and recipient is not None
    payload = {"recipient": recipient.username, "currency": "USD", "amount": "10.00"}

    def send(i: int) -> Any:
        return client_for(sender).post("/api/v1/transactions/transfer/", payload, HTTP_IDEMPOTENCY_KEY="once-only")

    # when
    responses = run_concurrently(10, send)
    # then money moved once; every other answer is a replay of it or "still in flight"
    outcome = codes(responses)
    assert set(outcome) <= {(201, "ok"), (409, "idempotency_key_in_use")}
    assert outcome[(201, "ok")] >= 1
    created = [r for r in responses if not isinstance(r, BaseException) and r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(1 for r in created if "Idempotent-Replayed" not in r) == 1
    assert balance(recipient) == Decimal("10.00")
    assert LedgerTransaction.objects.filter(type=TransactionType.TRANSFER).count() == 1
    # and a later retry replays the stored response
    later = client_for(sender).post("/api/v1/transactions/transfer/", payload, HTTP_IDEMPOTENCY_KEY="once-only")
    assert later.status_code == 201
    assert later["Idempotent-Replayed"] == "true"
    assert balance(recipient) == Decimal("10.00")
    assert_ledger_clean()


def test_concurrent_wallet_creation_yields_one_wallet() -> None:
    user = UserFactory.create()

    def create(i: int) -> Any:
        return client_for(user).post("/api/v1/wallets/", {"currency": "EUR"})

    outcome = codes(run_concurrently(10, create))
    assert outcome == Counter({(201, "ok"): 1, (409, "wallet_exists"): 9})
