"""The ledger's metrics: transactions posted and money moved (after commit only), idempotent
replays, pending deposits/withdrawals by age at scrape time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from ledger.services.deposits import deposit_open
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet, withdrawal_hold
from vaultcore.metrics import transactions_posted_record
from vaultcore.tests.scrape import counter_value, sample, scraped
from wallets.tests.factories import WalletFactory


@pytest.mark.django_db(transaction=True)
def test_a_committed_transfer_is_counted_with_its_amount() -> None:
    # given
    alice = UserFactory.create(username="alice", email="alice@example.com")
    funded_wallet(user=alice, currency="EUR", amount="100.00")
    WalletFactory.create(user=UserFactory.create(username="bob", email="bob@example.com"), currency="EUR")
    posted = counter_value("vaultcore_transactions_posted", type="transfer", currency="EUR")
    moved = counter_value("vaultcore_money_moved", type="transfer", currency="EUR")
    # when
    transfer_create(sender=alice, recipient="bob", currency="EUR", amount=Decimal("12.34"))
    # then
    assert counter_value("vaultcore_transactions_posted", type="transfer", currency="EUR") == posted + 1
    assert counter_value("vaultcore_money_moved", type="transfer", currency="EUR") == pytest.approx(moved + 12.34)


@pytest.mark.django_db(transaction=True)
def test_work_that_rolls_back_is_never_counted() -> None:
    # given
    posted = counter_value("vaultcore_transactions_posted", type="transfer", currency="GBP")
    # when a posting is recorded in a transaction that then rolls back
    with pytest.raises(RuntimeError), transaction.atomic():
        transactions_posted_record([("transfer", "GBP", Decimal("5.00"))])
        raise RuntimeError("rolled back")
    # then
    assert counter_value("vaultcore_transactions_posted", type="transfer", currency="GBP") == posted


@pytest.mark.django_db
def test_an_idempotent_replay_is_counted(api_client: APIClient) -> None:
    # given
    alice = UserFactory.create(username="alice", email="alice@example.com")
    funded_wallet(user=alice, amount="100.00")
    WalletFactory.create(user=UserFactory.create(username="bob", email="bob@example.com"), currency="USD")
    api_client.force_authenticate(alice)
    payload = {"recipient": "bob", "currency": "USD", "amount": "1.00"}
    replays = counter_value("vaultcore_idempotent_replays", operation="transfer")
    # when the same request is sent twice with one key
    for _ in range(2):
        response = api_client.post("/api/v1/transactions/transfer/", payload, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
        assert response.status_code == 201
    # then the second was a replay
    assert counter_value("vaultcore_idempotent_replays", operation="transfer") == replays + 1


@pytest.mark.django_db
def test_pending_deposits_and_withdrawals_by_age(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a fresh pending deposit, a withdrawal pending for 2 hours, and a posted deposit
    wallet = funded_wallet(amount="50.00")
    assert wallet.user is not None
    deposit_open(user=wallet.user, currency="USD", amount=Decimal("10.00"))
    two_hours_ago = timezone.now() - timedelta(hours=2)
    with monkeypatch.context() as clock:
        clock.setattr(timezone, "now", lambda: two_hours_ago)
        withdrawal_hold(wallet=wallet, amount="5.00")
    # when
    samples = scraped()
    # then
    assert sample(samples, "vaultcore_pending_transactions", type="deposit", age="0-5m") == 1
    assert sample(samples, "vaultcore_pending_transactions", type="withdrawal", age="1h-24h") == 1
    assert sample(samples, "vaultcore_pending_transactions", type="withdrawal", age="0-5m") == 0
    assert sample(samples, "vaultcore_pending_transaction_oldest_age_seconds", type="withdrawal") >= 7200
    assert sample(samples, "vaultcore_scrape_collector_up", collector="ledger_pending") == 1
