"""Idempotency keys: claims, stale in-flight keys, crash recovery."""

import importlib
import json
from datetime import timedelta
from decimal import Decimal
from types import ModuleType

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from ledger.exceptions import IdempotencyKeyInUse, IdempotencyKeyReused
from ledger.idempotency import idempotency_key_claim, operation_fingerprint
from ledger.models import IdempotencyKey, LedgerTransaction
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet

pytestmark = pytest.mark.django_db


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    a = operation_fingerprint(operation="transfer", params={"amount": "1.00", "currency": "USD"})
    b = operation_fingerprint(operation="transfer", params={"currency": "USD", "amount": "1.00"})
    c = operation_fingerprint(operation="transfer", params={"currency": "USD", "amount": "1.01"})
    d = operation_fingerprint(operation="withdraw", params={"currency": "USD", "amount": "1.00"})
    assert a == b
    assert len({a, c, d}) == 3


def test_a_stale_claim_without_money_moved_can_be_taken_over() -> None:
    # given a request that claimed the key and died before moving money
    user = UserFactory.create()
    fp = operation_fingerprint(operation="transfer", params={})
    idempotency_key_claim(user=user, key="k", operation="transfer", fingerprint=fp)
    with pytest.raises(IdempotencyKeyInUse):
        idempotency_key_claim(user=user, key="k", operation="transfer", fingerprint=fp)
    IdempotencyKey.objects.filter(user=user, key="k").update(locked_at=timezone.now() - timedelta(minutes=5))
    # when
    claim = idempotency_key_claim(user=user, key="k", operation="transfer", fingerprint=fp)
    # then
    assert claim.replay is None
    assert IdempotencyKey.objects.filter(user=user, key="k").count() == 1


def test_a_stale_claim_whose_money_moved_is_replayed_from_its_transaction() -> None:
    # given a request that moved money and died before recording its outcome
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    fp = operation_fingerprint(operation="transfer", params={"x": 1})
    claim = idempotency_key_claim(user=sender.user, key="k", operation="transfer", fingerprint=fp)
    txn = transfer_create(
        sender=sender.user,
        recipient=recipient.user.username,
        currency="USD",
        amount=Decimal("1.00"),
        idempotency_key=claim.row,
    )
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(locked_at=timezone.now() - timedelta(minutes=5), outcome=None)
    # when
    replay = idempotency_key_claim(user=sender.user, key="k", operation="transfer", fingerprint=fp).replay
    # then it is answered from the transaction, and no second transfer happens
    assert replay is not None
    assert [t.pk for t in replay.transactions] == [txn.pk]
    assert replay.transactions[0].status == "posted"
    stored = IdempotencyKey.objects.get(pk=claim.row.pk)
    assert stored.transaction_id == txn.pk
    assert stored.outcome is not None and stored.outcome["transactions"][0]["id"] == str(txn.public_id)
    assert LedgerTransaction.objects.filter(type="transfer").count() == 1


def test_a_key_is_bound_to_its_operation() -> None:
    user = UserFactory.create()
    idempotency_key_claim(
        user=user,
        key="k",
        operation="deposit",
        fingerprint=operation_fingerprint(operation="deposit", params={}),
    )
    with pytest.raises(IdempotencyKeyReused):
        idempotency_key_claim(
            user=user,
            key="k",
            operation="withdraw",
            fingerprint=operation_fingerprint(operation="withdraw", params={}),
        )


def test_a_request_whose_claim_was_taken_over_cannot_move_money() -> None:
    # given request A's claim went stale and request B took the key over
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    fp = operation_fingerprint(operation="transfer", params={})
    claim_a = idempotency_key_claim(user=sender.user, key="k", operation="transfer", fingerprint=fp)
    IdempotencyKey.objects.filter(pk=claim_a.row.pk).update(locked_at=timezone.now() - timedelta(minutes=5))
    claim_a.row.refresh_from_db()
    claim_b = idempotency_key_claim(user=sender.user, key="k", operation="transfer", fingerprint=fp)

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


def _migration_0008() -> ModuleType:
    return importlib.import_module("ledger.migrations.0008_idempotency_key_outcome")


def test_a_key_from_before_operation_fingerprints_replays_its_stored_answer() -> None:
    # given a transfer answered before the upgrade: its stored response converted by migration
    # 0008 into an outcome, its HTTP-body fingerprint cleared
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    txn = transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("1.00"))
    old_body = {"id": str(txn.public_id), "status": "posted", "reference": "", "posted_at": "2026-12-01T10:00:00Z"}
    outcome = _migration_0008()._outcome_from_response(201, json.dumps(old_body))
    IdempotencyKey.objects.create(
        user=sender.user, key="k", operation="transfer", fingerprint="", outcome=outcome, transaction=txn,
        locked_at=timezone.now(), created_at=timezone.now(),
    )  # fmt: skip
    # when the client retries with the same key after the upgrade
    fp = operation_fingerprint(operation="transfer", params={"recipient": "x", "amount": "1.00"})
    replay = idempotency_key_claim(user=sender.user, key="k", operation="transfer", fingerprint=fp).replay
    # then it gets the first answer again and no money moves
    assert replay is not None and [t.pk for t in replay.transactions] == [txn.pk]
    assert LedgerTransaction.objects.filter(type="transfer").count() == 1
    # but the key stays bound to its operation
    with pytest.raises(IdempotencyKeyReused):
        idempotency_key_claim(user=sender.user, key="k", operation="deposit", fingerprint=fp)


def test_migration_0008_turns_a_stored_error_into_a_recorded_error() -> None:
    body = {"type": "client_error", "errors": [{"code": "insufficient_funds", "detail": "No.", "attr": None}]}
    outcome = _migration_0008()._outcome_from_response(422, json.dumps(body))
    assert outcome == {"error": {"status": 422, "code": "insufficient_funds", "detail": "No.", "attr": None}}
