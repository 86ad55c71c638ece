"""Serializers of the deposit and withdrawal endpoints."""

from typing import Any

import pytest
from rest_framework import serializers

from ledger.tests.factories import deposit, funded_wallet
from payments.serializers import DepositOutputSerializer

pytestmark = pytest.mark.django_db


def by_fields(serializer: serializers.Serializer) -> dict[str, Any]:
    """DRF's generic rendering: every declared field, one by one."""
    return dict(serializers.Serializer.to_representation(serializer, serializer.instance))


def test_the_deposit_output_adds_the_payment_after_the_transaction_fields() -> None:
    # given
    wallet = funded_wallet(amount="0")
    assert wallet.user is not None
    txn = deposit(wallet=wallet, amount="3.00")
    payment = {"provider": "sandbox", "client_secret": None}
    context = {"user": wallet.user, "payment": payment}
    # when
    data = DepositOutputSerializer(txn, context=context).data
    # then
    assert dict(data) == by_fields(DepositOutputSerializer(txn, context=context))
    assert list(data)[-1] == "payment" and data["payment"] == payment
