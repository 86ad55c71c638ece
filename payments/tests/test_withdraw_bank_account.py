"""A withdrawal's bank account must be one of the caller's, in the withdrawal's currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from ledger.models import LedgerTransaction
from payments.models import BankAccount
from payments.tests.flows import client_for, wallet_of
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db

ACCOUNT = {
    "account_holder_name": "Alice Example",
    "bank_name": "First Bank",
    "account_number": "000123456789",
    "routing_number": "110000000",
    "country": "US",
    "currency": "USD",
}


def _funded(username: str):
    user = UserFactory.create(username=username)
    WalletFactory.create(user=user, currency="USD", balance=Decimal("50.00"))
    return user


def _bank_account(user, **overrides) -> str:
    response = client_for(user).post("/api/v1/payments/bank-accounts/", {**ACCOUNT, **overrides})
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize(
    ("case", "status", "attr"),
    [("someone_elses", 404, None), ("malformed", 400, "bank_account_id"), ("other_currency", 400, "bank_account_id")],
)
def test_withdraw_to_a_bank_account_that_is_not_yours_or_fits_not_is_refused_and_holds_nothing(
    case: str, status: int, attr: str | None
) -> None:
    # given
    alice, mallory = _funded("alice-bank"), _funded("mallory-bank")
    target = {
        "someone_elses": lambda: _bank_account(mallory),
        "malformed": lambda: "not-a-uuid",
        "other_currency": lambda: _bank_account(alice, currency="EUR"),
    }[case]()
    before = LedgerTransaction.objects.count()

    # when
    response = client_for(alice).post(
        "/api/v1/transactions/withdraw/", {"currency": "USD", "amount": "10.00", "bank_account_id": target}
    )

    # then
    assert response.status_code == status, response.content
    assert response.json()["errors"][0]["attr"] == attr
    assert LedgerTransaction.objects.count() == before
    assert wallet_of(alice).held == Decimal("0")


def test_withdraw_to_your_own_bank_account_holds_the_amount() -> None:
    alice = _funded("alice-own-bank")
    account_id = _bank_account(alice)
    assert BankAccount.objects.filter(pk=account_id, owner=alice).exists()
    response = client_for(alice).post(
        "/api/v1/transactions/withdraw/", {"currency": "USD", "amount": "10.00", "bank_account_id": account_id}
    )
    assert response.status_code == 201, response.content
