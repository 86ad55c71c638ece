"""The output serializers write their dict by hand (speed); DRF's field-by-field rendering of the
declared fields (what the OpenAPI schema describes) must give exactly the same result for every
kind of transaction, seen from either side, fresh from a service or loaded by the selectors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger import selectors
from ledger.models import LedgerTransaction
from ledger.serializers import (
    TransactionOutputSerializer,
    TransferInputSerializer,
    _transfer_input_plain,
    transfer_input_validate,
)
from ledger.services.adjustments import adjustment_create
from ledger.services.reversals import transaction_reverse
from ledger.services.transfers import transfer_create
from ledger.tests.factories import deposit, funded_wallet, staff, withdrawal_hold
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


def by_fields(serializer: serializers.Serializer) -> dict[str, Any]:
    """DRF's generic rendering: every declared field, one by one."""
    return dict(serializers.Serializer.to_representation(serializer, serializer.instance))


def assert_same(txn: LedgerTransaction, user: User, **context: Any) -> dict[str, Any]:
    serializer = TransactionOutputSerializer(txn, context={"user": user, **context})
    by_hand = serializer.data
    assert dict(by_hand) == by_fields(TransactionOutputSerializer(txn, context={"user": user, **context}))
    assert list(by_hand) == list(serializer.fields)
    return dict(by_hand)


def test_a_fresh_transfer_renders_like_the_declared_fields_for_sender_and_recipient() -> None:
    # given
    sender = funded_wallet(amount="10.00")
    recipient = WalletFactory.create(user=UserFactory.create(), currency="USD")
    assert sender.user is not None and recipient.user is not None
    # when
    txn = transfer_create(
        sender=sender.user,
        recipient=recipient.user.username,
        currency="USD",
        amount=Decimal("2.50"),
        description="rent",
    )
    # then
    sent = assert_same(txn, sender.user)
    received = assert_same(txn, recipient.user)
    assert (sent["direction"], sent["balance_after"]) == ("debit", "7.50")
    assert sent["counterparty"] == recipient.user.username
    assert (received["direction"], received["balance_after"]) == ("credit", "2.50")
    assert sent["created_at"].endswith("Z") and sent["type"] == "transfer" and sent["description"] == "rent"


def test_loaded_pending_reversed_and_system_transactions_render_like_the_declared_fields() -> None:
    # given: a deposit (system counterparty), a pending withdrawal (no posted_at, no balance),
    # an adjustment and a reversal, in a three-decimal currency too
    wallet = funded_wallet(currency="KWD", amount="5.125")
    assert wallet.user is not None
    user = wallet.user
    withdrawal = withdrawal_hold(wallet=wallet, amount="1.000")
    adjustment = adjustment_create(acting_user=staff(), wallet=wallet, amount=Decimal("0.250"), reason="fix")
    transaction_reverse(acting_user=None, transaction_id=adjustment.pk)
    deposit(wallet=wallet, amount="0.001")
    # when: every transaction as the history and the detail endpoint load them
    loaded = list(selectors.transaction_list(user=user))
    # then
    assert len(loaded) >= 5
    rendered = [assert_same(txn, user) for txn in loaded]
    detail = selectors.transaction_get(user=user, public_id=withdrawal.public_id)
    assert detail is not None
    assert_same(detail, user)
    assert {r["type"] for r in rendered} >= {"deposit", "withdrawal", "adjustment", "reversal"}
    assert any(r["posted_at"] is None and r["balance_after"] is None for r in rendered)
    assert all(r["counterparty"] is None for r in rendered)


# --- transfer input: the direct path agrees with the serializer ------------------------------
_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="ascii"), max_size=20),
    st.sampled_from(["bob", "bob@example.com", " bob", "bob ", "", "   ", "b\x00b", "\ud800", "x" * 254, "x" * 255]),
)
_VALUE = st.one_of(
    _TEXT,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["USD", "JPY", "KWD", "usd", " USD", "EUR", "XXX", "1.00", "0.001", "1e2", "-1", "0", "10"]),
    st.lists(st.integers(), max_size=2),
)
_PAYLOAD = st.one_of(
    st.dictionaries(st.sampled_from(["recipient", "currency", "amount", "description", "extra"]), _VALUE),
    st.fixed_dictionaries(
        {"recipient": _TEXT, "currency": st.sampled_from(["USD", "JPY", "KWD", "usd"]), "amount": _VALUE},
        optional={"description": _TEXT},
    ),
    st.lists(st.integers(), max_size=2),
    st.text(max_size=5),
)


@settings(max_examples=400, deadline=None)
@given(_PAYLOAD)
def test_the_direct_transfer_input_path_never_disagrees_with_the_serializer(data: Any) -> None:
    serializer = TransferInputSerializer(data=data)
    valid = serializer.is_valid()
    plain = _transfer_input_plain(data)
    if plain is not None:
        assert valid, (data, serializer.errors)
        assert plain == dict(serializer.validated_data)
    if valid:
        assert transfer_input_validate(data) == dict(serializer.validated_data)
    else:
        with pytest.raises(ValidationError):
            transfer_input_validate(data)


def test_the_usual_transfer_takes_the_direct_path() -> None:
    for data in (
        {"recipient": "bob", "currency": "USD", "amount": "10.50"},
        {"recipient": "bob@example.com", "currency": "JPY", "amount": 1000, "description": "rent"},
        {"recipient": "bob", "currency": "KWD", "amount": Decimal("1.125"), "description": ""},
    ):
        assert _transfer_input_plain(data) == dict(TransferInputSerializer(data=data).run_validation(data))
