"""payments.withdrawals: the payout request is an outbox row written with the hold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import TransactionStatus
from ledger.tests.factories import funded_wallet
from outbox.models import OutboxMessage, OutboxStatus
from payments.payouts import PAYOUT_REQUEST_TOPIC
from payments.withdrawals import withdrawal_create

pytestmark = pytest.mark.django_db


def test_the_payout_request_is_written_with_the_hold_and_relayed_after_commit(
    settings, django_capture_on_commit_callbacks
) -> None:
    # given a funded wallet and the sandbox provider (pays out at once)
    settings.PAYMENTS_PROVIDER = "sandbox"
    wallet = funded_wallet(amount="50.00")
    assert wallet.user is not None
    # when the withdrawal commits, before anything runs after the commit
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        txn = withdrawal_create(user=wallet.user, currency="USD", amount=Decimal("20.00"))
    # then the hold and its payout request were written together
    request = OutboxMessage.objects.get(topic=PAYOUT_REQUEST_TOPIC)
    assert request.payload == {"transaction_id": txn.pk}
    assert request.status == OutboxStatus.PENDING
    assert txn.status == TransactionStatus.PENDING
    # when the relay runs after the commit, the payout is requested and booked
    for callback in after_commit:
        callback()
    request.refresh_from_db()
    txn.refresh_from_db()
    assert request.status == OutboxStatus.SENT
    assert txn.status == TransactionStatus.POSTED
