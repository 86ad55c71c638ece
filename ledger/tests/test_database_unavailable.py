"""A lost database connection (PostgreSQL restart, failover) in the middle of a money operation:
the client gets 503 ``service_unavailable`` with ``Retry-After``, never a 500, and its retry with
the same Idempotency-Key runs once (the failed call left no key in flight or recorded). On real
PostgreSQL: the request's own backend is terminated from a second connection."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.models import IdempotencyKey, LedgerTransaction, TransactionType
from ledger.services import transfers
from ledger.tests.factories import funded_wallet
from ledger.tests.test_apis import client_for
from vaultcore.tests.db_faults import terminated_before_first_call
from wallets import apis as wallet_apis
from wallets.models import Wallet
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/transactions/transfer/"
PAYLOAD = {"recipient": "bob", "currency": "USD", "amount": "10.00"}


@pytest.fixture
def alice() -> User:
    user = UserFactory.create(username="alice", email="alice@example.com")
    funded_wallet(user=user, amount="100.00")
    return user


@pytest.fixture
def bob() -> User:
    user = UserFactory.create(username="bob", email="bob@example.com")
    WalletFactory.create(user=user, currency="USD")
    return user


def test_a_connection_lost_while_moving_money_is_503_and_the_retry_runs_once(
    alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the database connection is killed just as the transfer starts writing
    monkeypatch.setattr(transfers, "post", terminated_before_first_call(transfers.post))
    client = client_for(alice)
    # when
    failed = client.post(URL, PAYLOAD, HTTP_IDEMPOTENCY_KEY="lost-1")
    # then 503 in the contract's shape, with Retry-After, and nothing moved or kept
    assert failed.status_code == 503
    assert failed.json() == {
        "type": "server_error",
        "errors": [
            {
                "code": "service_unavailable",
                "detail": "The service is temporarily unavailable. Please retry with the same Idempotency-Key.",
                "attr": None,
            }
        ],
    }
    assert failed["Retry-After"] == "5"
    assert not IdempotencyKey.objects.filter(user=alice, key="lost-1").exists()
    assert not LedgerTransaction.objects.filter(type=TransactionType.TRANSFER).exists()
    # when the client retries with the same key, then it runs once; a third call replays it
    retried = client.post(URL, PAYLOAD, HTTP_IDEMPOTENCY_KEY="lost-1")
    replayed = client.post(URL, PAYLOAD, HTTP_IDEMPOTENCY_KEY="lost-1")
    assert retried.status_code == replayed.status_code == 201
    assert "Idempotent-Replayed" not in retried and replayed["Idempotent-Replayed"] == "true"
    assert replayed.content == retried.content
    assert Wallet.objects.get(user=bob).balance == Decimal("10.00")
    assert Wallet.objects.get(user=alice).balance == Decimal("90.00")


def test_a_connection_lost_while_reading_is_503_not_500(alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the connection dies while a plain read runs (no idempotency involved)
    monkeypatch.setattr(wallet_apis, "wallet_list", terminated_before_first_call(wallet_apis.wallet_list))
    client = client_for(alice)
    # when
    response = client.get("/api/v1/wallets/")
    # then
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert response["Retry-After"] == "5"
    # and once the request is over (Django's request_finished drops a broken connection, which the
    # test client leaves to the test), the next request is served on a new connection
    connection.close_if_unusable_or_obsolete()
    assert client.get("/api/v1/wallets/").status_code == 200


def test_a_key_is_released_even_when_its_call_broke_the_connection_outside_a_transaction(alice: User) -> None:
    # given an operation whose connection is killed while it reads, outside any atomic block (so
    # Django keeps the broken connection: the release's first attempt fails on it too)
    from django.db import OperationalError

    from ledger.idempotency import Outcome, idempotent
    from vaultcore.tests.db_faults import terminate_current_backend

    def run(row: IdempotencyKey | None) -> Outcome:
        terminate_current_backend()
        list(LedgerTransaction.objects.all()[:1])
        raise AssertionError("unreachable: the read fails")

    # when
    with pytest.raises(OperationalError):
        idempotent(user=alice, key="lost-2", operation="transfer", params={"n": 1}, run=run)
    # then the key was released on a new connection: a retry is not refused as in flight
    assert not IdempotencyKey.objects.filter(user=alice, key="lost-2").exists()
    outcome, replayed = idempotent(
        user=alice, key="lost-2", operation="transfer", params={"n": 1}, run=lambda row: Outcome(transactions=[])
    )
    assert (list(outcome.transactions), replayed) == ([], False)
