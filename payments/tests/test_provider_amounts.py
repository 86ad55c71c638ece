"""Amounts the currency allows but Stripe cannot move are a 400 that leaves nothing behind."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from ledger.models import LedgerTransaction
from payments.tests.flows import client_for
from payments.tests.stripe_standin import StripeStandIn
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("endpoint", "currency", "amount"),
    [("deposit", "KWD", "5.125"), ("withdraw", "KWD", "1.001")],
)
def test_stripe_unrepresentable_amount_is_400_on_amount_and_writes_nothing(
    stripe_provider: StripeStandIn, endpoint: str, currency: str, amount: str
) -> None:
    # given a user with a KWD wallet (3 decimals; Stripe needs the third digit to be 0)
    user = UserFactory.create()
    WalletFactory.create(user=user, currency=currency)
    before = LedgerTransaction.objects.count()

    # when
    response = client_for(user).post(f"/api/v1/transactions/{endpoint}/", {"currency": currency, "amount": amount})

    # then
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["attr"] == "amount"
    assert "third" in error["detail"]
    assert LedgerTransaction.objects.count() == before
    assert stripe_provider.payment_intents == {}


def test_stripe_representable_three_decimal_amount_opens_a_pending_deposit(stripe_provider: StripeStandIn) -> None:
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="KWD")
    response = client_for(user).post("/api/v1/transactions/deposit/", {"currency": "KWD", "amount": "5.120"})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    (intent,) = stripe_provider.payment_intents.values()
    assert intent["amount"] == 5120
