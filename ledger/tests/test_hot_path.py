"""The transfer hot path on real commits: its round trips are counted, so they cannot silently
grow, and its shortcuts (one lock query that also finds the recipient, the key bound in the
posting statement together with its response, key writes that relax only their own commit) keep
every guarantee."""

from __future__ import annotations

import functools
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import TOKEN_VERSION_CLAIM, VaultAccessToken
from accounts.validators import user_identifier
from ledger.idempotency import idempotency_key_claim
from ledger.models import IdempotencyKey
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from wallets.lock_objects import transfer_wallets_lock
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)


def bearer_client(user: User) -> APIClient:
    """A client authenticated like a real one: a signed access token in the header."""
    token = VaultAccessToken.for_user(user)
    token[TOKEN_VERSION_CLAIM] = user.token_version
    client = APIClient()
    client.default_format = "json"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [" ".join(q["sql"].split()) for q in queries.captured_queries]


def test_a_transfer_request_is_six_statements_and_one_money_transaction() -> None:
    # given
    sender = funded_wallet(user=UserFactory.create(username="alice"), amount="10.00")
    WalletFactory.create(user=UserFactory.create(username="bob", email="bob@example.com"), currency="USD")
    assert sender.user is not None
    client = bearer_client(sender.user)
    payload = {"recipient": "BOB@example.com", "currency": "USD", "amount": "1.00"}
    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/transactions/transfer/", payload, HTTP_IDEMPOTENCY_KEY="hot-1")
    # then
    assert response.status_code == 201, response.content
    assert response.json()["counterparty"] == "bob"
    sql = statements(queries)
    assert len(sql) == 6, sql
    auth, claim, begin, lock, post, commit = sql
    assert auth.startswith("SELECT") and "accounts_revokedaccesstoken" in auth
    assert claim.startswith("INSERT INTO ledger_idempotencykey")
    assert (begin, commit) == ("BEGIN", "COMMIT")
    assert lock.startswith("SELECT") and lock.endswith("ORDER BY w.id FOR UPDATE OF w")
    assert post.startswith('WITH txn AS (INSERT INTO "ledger_ledgertransaction"') and "idempotency AS" in post
    # the key was bound AND given its outcome in the money commit: the replay renders it again
    key = IdempotencyKey.objects.get(key="hot-1")
    assert key.transaction is not None and key.transaction.posted_at is not None
    posted_at = key.transaction.posted_at.isoformat()
    recorded = {"id": response.json()["id"], "status": "posted", "reference": "", "posted_at": posted_at}
    assert key.outcome == {"transactions": [recorded], "result": {}}
    replay = client.post("/api/v1/transactions/transfer/", payload, HTTP_IDEMPOTENCY_KEY="hot-1")
    assert replay.content == response.content and replay["Idempotent-Replayed"] == "true"


def test_the_hot_path_statements_are_prepared_once_per_connection() -> None:
    # given (psycopg prepares nothing while the connection's prepare_threshold is None, Django's
    # default: the DB_PREPARED_STATEMENTS setting must turn it on, not just ask for it)
    sender = funded_wallet(user=UserFactory.create(username="carol"), amount="10.00")
    WalletFactory.create(user=UserFactory.create(username="dave"), currency="USD")
    assert sender.user is not None
    client = bearer_client(sender.user)

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY prepare_time")
            return [" ".join(row[0].split()) for row in cursor.fetchall()]

    def transfer(key: str) -> None:
        response = client.post(
            "/api/v1/transactions/transfer/",
            {"recipient": "dave", "currency": "USD", "amount": "1.00"},
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == 201, response.content

    # when (funding the wallet prepared the deposit's statements already)
    before = prepared()
    transfer("prep-1")
    after_first = [s for s in prepared() if s not in before]
    transfer("prep-2")
    # then: the four statements of the request path are prepared by the first request and reused
    assert len(after_first) == 4, after_first
    assert any("accounts_revokedaccesstoken" in s for s in after_first)
    assert any(s.endswith("ORDER BY w.id FOR UPDATE OF w") for s in after_first)
    assert any(s.startswith('WITH txn AS (INSERT INTO "ledger_ledgertransaction"') for s in after_first)
    assert [s for s in prepared() if s not in before] == after_first


def test_the_transfer_service_is_one_transaction_of_two_statements() -> None:
    # given
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    # when
    with CaptureQueriesContext(connection) as queries:
        transfer_create(sender=sender.user, recipient=recipient.user.email, currency="USD", amount=Decimal("2.50"))
    # then
    assert [s.split(" ")[0] for s in statements(queries)] == ["BEGIN", "SELECT", "WITH", "COMMIT"]
    recipient.refresh_from_db()
    assert recipient.balance == Decimal("2.50")


def test_the_lock_query_finds_the_recipient_and_locks_both_wallets_in_pk_order() -> None:
    # given a recipient created before the sender (lower wallet pk), another user, and an
    # inactive user
    recipient = funded_wallet(user=UserFactory.create(username="xavier", email="x@example.org"), amount="0")
    funded_wallet(user=UserFactory.create(username="erin", email="e@example.org"), amount="0")
    funded_wallet(user=UserFactory.create(username="gone", is_active=False), amount="0")
    sender = funded_wallet(amount="5.00")
    assert sender.user is not None
    # when the recipient is named by email, by username, or is inactive, or has no such wallet
    with transaction.atomic():
        lock = functools.partial(transfer_wallets_lock, sender_id=sender.user.pk)
        by_email = lock(recipient=user_identifier("X@EXAMPLE.ORG"), currency="USD")
        by_username = lock(recipient=user_identifier("Xavier"), currency="USD")
        unknown = lock(recipient=user_identifier("gone"), currency="USD")
        other_currency = lock(recipient=user_identifier("x@example.org"), currency="EUR")
    # then both wallets, ascending pk; the inactive user is not found
    assert [row.wallet.pk for row in by_email] == [recipient.pk, sender.pk]
    assert [row.wallet.pk for row in by_username] == [recipient.pk, sender.pk]
    assert by_email[0].username == "xavier"
    assert by_email[1].wallet.balance == Decimal("5.00")
    assert [row.wallet.pk for row in unknown] == [sender.pk]
    assert other_currency == []


def test_key_writes_relax_their_own_commit_only() -> None:
    # given
    user = UserFactory.create()

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            (value,) = cursor.fetchone()
        return str(value)

    # when a claim is written on its own (the request path) ...
    idempotency_key_claim(user=user, key="own", operation="transfer", fingerprint="f")
    # then it is committed and the session keeps durable commits for what follows
    assert setting() == "on"
    assert IdempotencyKey.objects.filter(user=user, key="own").exists()
    # when a claim is written inside someone's transaction
    with transaction.atomic():
        idempotency_key_claim(user=user, key="inside", operation="transfer", fingerprint="f")
        # then that transaction's commit is not relaxed
        assert setting() == "on"


def test_history_costs_the_same_number_of_queries_for_5_or_30_transactions() -> None:
    # given
    sender = funded_wallet(amount="100.00")
    recipient = funded_wallet(amount="0")
    alice, bob = sender.user, recipient.user
    assert alice is not None and bob is not None
    client = bearer_client(alice)

    def send(n: int) -> None:
        for _ in range(n):
            transfer_create(sender=alice, recipient=bob.username, currency="USD", amount=Decimal("1"))

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/transactions/?limit=50")
        assert response.status_code == 200
        return len(queries.captured_queries)

    send(5)
    few = list_queries()
    # when
    send(25)
    many = list_queries()
    # then: no query per row
    assert many == few
