"""Wallets endpoints of the contract."""

import time
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from ledger.tests.factories import deposit, funded_wallet
from payments.withdrawals import withdrawal_create
from wallets.models import Wallet
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_client(api_client: APIClient) -> tuple[APIClient, object]:
    user = UserFactory.create()
    api_client.force_authenticate(user)
    return api_client, user


def test_create_wallet_returns_201_with_the_contract_fields(user_client) -> None:
    client, _ = user_client
    # when
    response = client.post("/api/v1/wallets/", {"currency": "JPY"}, format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "currency", "balance", "available_balance", "status", "created_at"}
    assert body["currency"] == "JPY"
    assert body["balance"] == "0"
    assert body["available_balance"] == "0"
    assert body["status"] == "active"


def test_second_wallet_in_a_currency_is_409_wallet_exists(user_client) -> None:
    client, user = user_client
    client.post("/api/v1/wallets/", {"currency": "USD"}, format="json")
    response = client.post("/api/v1/wallets/", {"currency": "USD"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "wallet_exists"
    assert Wallet.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("currency", ["XYZ", "usd", "", 12])
def test_unsupported_currency_is_400(user_client, currency: object) -> None:
    client, user = user_client
    response = client.post("/api/v1/wallets/", {"currency": currency}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["attr"] == "currency"
    assert not Wallet.objects.filter(user=user).exists()


def test_unknown_currency_code_is_400_unsupported_currency(user_client) -> None:
    client, _ = user_client
    response = client.post("/api/v1/wallets/", {"currency": "XYZ"}, format="json")
    assert response.json()["errors"][0]["code"] == "unsupported_currency"


def test_list_shows_only_the_callers_wallets_as_a_plain_array(user_client) -> None:
    client, user = user_client
    WalletFactory.create(user=user, currency="USD")
    WalletFactory.create(user=user, currency="EUR")
    WalletFactory.create(currency="USD")  # someone else's
    response = client.get("/api/v1/wallets/")
    assert response.status_code == 200
    assert sorted(w["currency"] for w in response.json()) == ["EUR", "USD"]


def test_get_wallet_by_currency_and_404_when_missing(user_client) -> None:
    client, user = user_client
    wallet = funded_wallet(user=user, currency="KWD", amount="12.345")
    response = client.get("/api/v1/wallets/KWD/")
    assert response.status_code == 200
    assert response.json()["balance"] == "12.345"
    assert response.json()["id"] == str(wallet.public_id)
    missing = client.get("/api/v1/wallets/EUR/")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "wallet_not_found"


def test_available_balance_excludes_held_funds(user_client) -> None:
    # given a pending withdrawal (payout not settled: the task is not run here)
    client, user = user_client
    funded_wallet(user=user, amount="100.00")
    with mock.patch("payments.tasks.withdrawal_payout_request.delay"):
        withdrawal_create(user=user, currency="USD", amount=Decimal("30.00"))
    # when
    body = client.get("/api/v1/wallets/USD/").json()
    # then
    assert body["balance"] == "100.00"
    assert body["available_balance"] == "70.00"


def test_as_of_returns_the_balance_at_that_instant(user_client) -> None:
    # given
    client, user = user_client
    wallet = funded_wallet(user=user, amount="10.00")
    time.sleep(0.01)
    middle = timezone.now()
    time.sleep(0.01)
    deposit(wallet=wallet, amount="5.00")
    # when
    before_all = client.get("/api/v1/wallets/USD/", {"as_of": "2000-01-01T00:00:00Z"}).json()
    at_middle = client.get("/api/v1/wallets/USD/", {"as_of": middle.isoformat()}).json()
    now = client.get("/api/v1/wallets/USD/").json()
    # then
    assert before_all["balance"] == "0.00"
    assert at_middle["balance"] == "10.00"
    assert now["balance"] == "15.00"


def test_as_of_must_be_a_timestamp(user_client) -> None:
    client, user = user_client
    WalletFactory.create(user=user, currency="USD")
    response = client.get("/api/v1/wallets/USD/", {"as_of": "yesterday"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "as_of"


def test_wallets_need_authentication(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/wallets/").status_code == 401
