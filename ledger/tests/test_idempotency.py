"""Idempotency keys: claims, stale in-flight keys, crash recovery."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.response import Response

from accounts.tests.factories import UserFactory
from ledger.exceptions import IdempotencyKeyInUse, IdempotencyKeyReused
from ledger.idempotency import idempotency_key_claim, request_fingerprint
from ledger.models import IdempotencyKey, LedgerTransaction
from ledger.services import transfer_create
from ledger.tests.factories import funded_wallet

pytestmark = pytest.mark.django_db


def _never(txn: LedgerTransaction) -> Response:
    raise AssertionError("nothing to render")


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    a = request_fingerprint(endpoint="transfer", data={"amount": "1.00", "currency": "USD"})
    b = request_fingerprint(endpoint="transfer", data={"currency": "USD", "amount": "1.00"})
    c = request_fingerprint(endpoint="transfer", data={"currency": "USD", "amount": "1.01"})
    d = request_fingerprint(endpoint="withdraw", data={"currency": "USD", "amount": "1.00"})
    assert a == b
    assert len({a, c, d}) == 3


def test_a_stale_claim_without_money_moved_can_be_taken_over() -> None:
    # given a request that claimed the key and died before moving money
    user = UserFactory.create()
    fp = request_fingerprint(endpoint="transfer", data={})
    idempotency_key_claim(user=user, key="k", endpoint="transfer", fingerprint=fp, render=_never)
    with pytest.raises(IdempotencyKeyInUse):
        idempotency_key_claim(user=user, key="k", endpoint="transfer", fingerprint=fp, render=_never)
    IdempotencyKey.objects.filter(user=user, key="k").update(locked_at=timezone.now() - timedelta(minutes=5))
    # when
    claim = idempotency_key_claim(user=user, key="k", endpoint="transfer", fingerprint=fp, render=_never)
    # then
    assert claim.replay is None
    assert IdempotencyKey.objects.filter(user=user, key="k").count() == 1


def test_a_stale_claim_whose_money_moved_is_replayed_from_its_transaction() -> None:
    # given a request that moved money and died before storing its response
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    fp = request_fingerprint(endpoint="transfer", data={"x": 1})
    claim = idempotency_key_claim(user=sender.user, key="k", endpoint="transfer", fingerprint=fp, render=_never)
    txn = transfer_create(
        sender=sender.user,
        recipient=recipient.user.username,
        currency="USD",
        amount=Decimal("1.00"),
        idempotency_key=claim.row,
    )
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(locked_at=timezone.now() - timedelta(minutes=5))
    # when
    replay = idempotency_key_claim(
        user=sender.user,
        key="k",
        endpoint="transfer",
        fingerprint=fp,
        render=lambda t: Response({"id": str(t.public_id)}, status=201),
    ).replay
    # then it is answered from the transaction, and no second transfer happens
    assert replay is not None
    assert replay.status_code == 201
    assert json.loads(replay.content) == {"id": str(txn.public_id)}
    assert replay["Idempotent-Replayed"] == "true"
    stored = IdempotencyKey.objects.get(pk=claim.row.pk)
    assert (stored.transaction_id, stored.response_status) == (txn.pk, 201)


def test_a_key_is_bound_to_its_endpoint() -> None:
    user = UserFactory.create()
    idempotency_key_claim(
        user=user,
        key="k",
        endpoint="deposit",
        fingerprint=request_fingerprint(endpoint="deposit", data={}),
        render=_never,
    )
    with pytest.raises(IdempotencyKeyReused):
        idempotency_key_claim(
            user=user,
            key="k",
            endpoint="withdraw",
            fingerprint=request_fingerprint(endpoint="withdraw", data={}),
            render=_never,
        )


def test_a_request_whose_claim_was_taken_over_cannot_move_money() -> None:
    # given request A's claim went stale and request B took the key over
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    fp = request_fingerprint(endpoint="transfer", data={})
    claim_a = idempotency_key_claim(user=sender.user, key="k", endpoint="transfer", fingerprint=fp, render=_never)
    IdempotencyKey.objects.filter(pk=claim_a.row.pk).update(locked_at=timezone.now() - timedelta(minutes=5))
    claim_a.row.refresh_from_db()
    claim_b = idempotency_key_claim(user=sender.user, key="k", endpoint="transfer", fingerprint=fp, render=_never)

    def send(claim_row: IdempotencyKey) -> LedgerTransaction:
        assert sender.user and recipient.user
        return transfer_create(
            sender=sender.user,
            recipient=recipient.user.username,
            currency="USD",
            amount=Decimal("1.00"),
            idempotency_key=claim_row,
        )

    # when B moves the money, then A (late) tries too
    send(claim_b.row)
    with pytest.raises(IdempotencyKeyInUse):
        send(claim_a.row)
    # then the money moved once
    recipient.refresh_from_db()
    assert recipient.balance == Decimal("1.00")
