"""Events are written by the money and wallet services in the change's own transaction: one
per user party, gap-free per user, and never for a change that rolled back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import StaffFactory, UserFactory
from events.models import Event, EventCounter
from events.services import EventDraft, events_record
from ledger.exceptions import InsufficientFunds
from ledger.models import LedgerTransaction
from ledger.serializers import TransactionOutputSerializer
from ledger.services import posting
from ledger.services.adjustments import adjustment_create
from ledger.services.deposits import deposit_fail, deposit_open, deposit_settle
from ledger.services.reversals import transaction_reverse
from ledger.services.transfers import transfer_create
from ledger.services.withdrawals import withdrawal_post, withdrawal_void
from ledger.tests.factories import funded_wallet, withdrawal_hold
from wallets.models import Wallet
from wallets.services import wallet_create, wallet_freeze, wallet_unfreeze
from wallets.tests.factories import WalletFactory


def types_of(user: Any) -> list[str]:
    return list(Event.objects.filter(user=user).order_by("sequence").values_list("type", flat=True))


@pytest.mark.django_db
def test_a_transfer_writes_one_event_per_party_as_each_sees_it() -> None:
    # given
    sender = funded_wallet(amount="50.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    # when
    txn = transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("20"))
    # then
    to_sender = Event.objects.get(user=sender.user, type="transaction.posted", data__object__id=str(txn.public_id))
    to_recipient = Event.objects.get(user=recipient.user)
    assert Event.objects.get(pk=to_recipient.public_id) == to_recipient
    assert to_recipient.type == "transaction.posted" and to_recipient.sequence == 1
    # data.object is exactly the REST representation of that user
    txn = LedgerTransaction.objects.get(pk=txn.pk)
    for event, user in ((to_sender, sender.user), (to_recipient, recipient.user)):
        assert event.data == {"object": TransactionOutputSerializer(txn, context={"user": user}).data}
    assert to_sender.data["object"]["direction"] == "debit"
    assert to_recipient.data["object"]["balance_after"] == "20.00"
    assert to_recipient.data["object"]["counterparty"] == sender.user.username
    assert to_sender.event_id == f"evt_{to_sender.public_id.hex}"


@pytest.mark.django_db
def test_deposits_withdrawals_reversals_and_adjustments_make_their_events() -> None:
    # given
    user = UserFactory.create()
    staff = StaffFactory.create()
    wallet = wallet_create(user=user, currency="USD")
    # when: a deposit opens and settles, another fails
    opened = deposit_open(user=user, currency="USD", amount=Decimal("30.00"))
    deposit_settle(transaction_id=opened.pk, reference="ref-1")
    failing = deposit_open(user=user, currency="USD", amount=Decimal("5.00"))
    deposit_fail(transaction_id=failing.pk, reason="declined")
    # a withdrawal is held then voided, another held then posted
    voided = withdrawal_hold(wallet=wallet, amount="4.00")
    withdrawal_void(transaction_id=voided.pk, reason="bank refused")
    paid = withdrawal_hold(wallet=wallet, amount="3.00")
    withdrawal_post(transaction_id=paid.pk)
    # an adjustment, then its reversal
    adjustment = adjustment_create(acting_user=staff, wallet=wallet, amount=Decimal("2.00"), reason="goodwill")
    transaction_reverse(acting_user=staff, transaction_id=adjustment.pk, reason="mistake")
    # then
    assert types_of(user) == [
        "wallet.created",
        "transaction.created",
        "transaction.posted",
        "transaction.created",
        "transaction.failed",
        "transaction.created",
        "transaction.voided",
        "transaction.created",
        "transaction.posted",
        "transaction.posted",
        "transaction.reversed",
    ]
    assert list(Event.objects.filter(user=user).order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, 12)
    )
    assert EventCounter.objects.get(user=user).last_sequence == 11
    settled = Event.objects.filter(user=user, type="transaction.posted").order_by("sequence").first()
    assert settled is not None and settled.data["object"]["id"] == str(opened.public_id)
    assert settled.data["object"]["status"] == "posted" and settled.data["object"]["reference"] == "ref-1"


@pytest.mark.django_db
def test_a_provider_reference_on_a_pending_transaction_makes_no_event() -> None:
    from ledger.services.pending import transaction_reference_set

    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    opened = deposit_open(user=user, currency="USD", amount=Decimal("30.00"))
    transaction_reference_set(transaction_id=opened.pk, reference="pi_1", provider="stripe")
    assert types_of(user) == ["transaction.created"]


@pytest.mark.django_db
def test_freezing_and_unfreezing_make_wallet_events() -> None:
    wallet = funded_wallet(amount="0")
    staff = StaffFactory.create()
    wallet_freeze(acting_user=staff, wallet=wallet, reason="check")
    wallet_freeze(acting_user=staff, wallet=wallet, reason="again: no change, no event")
    wallet_unfreeze(acting_user=staff, wallet=wallet, reason="fine")
    assert types_of(wallet.user) == ["wallet.frozen", "wallet.unfrozen"]
    frozen = Event.objects.get(type="wallet.frozen")
    assert frozen.data["object"]["status"] == "frozen" and frozen.data["object"]["id"] == str(wallet.public_id)


@pytest.mark.django_db(transaction=True)
def test_a_refused_transfer_leaves_no_event() -> None:
    # given
    sender = funded_wallet(amount="5.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    before = Event.objects.count()
    # when
    with pytest.raises(InsufficientFunds):
        transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("9"))
    # then
    assert Event.objects.count() == before
    assert not EventCounter.objects.filter(user=recipient.user).exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_error_after_the_posting_rolls_the_events_back_with_the_money() -> None:
    # given
    sender = funded_wallet(amount="50.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    before = (Event.objects.count(), EventCounter.objects.get(user=sender.user).last_sequence)
    real_post = posting.post

    def post_then_fail(**kwargs: Any) -> None:
        real_post(**kwargs)
        assert Event.objects.filter(user=recipient.user).count() == 1  # written in the transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1/0")

    # when
    with mock.patch("ledger.services.transfers.post", post_then_fail), pytest.raises(Exception, match="division"):
        transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("9"))
    # then no event, no sequence used, no money moved
    assert (Event.objects.count(), EventCounter.objects.get(user=sender.user).last_sequence) == before
    assert Wallet.objects.get(pk=recipient.pk).balance == Decimal("0")


@pytest.mark.django_db(transaction=True)
def test_the_events_go_in_the_posting_statement() -> None:
    # given
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user is not None and recipient.user is not None
    # when
    with CaptureQueriesContext(connection) as queries:
        transfer_create(sender=sender.user, recipient=recipient.user.email, currency="USD", amount=Decimal("1"))
    # then: still BEGIN, the lock, ONE statement, COMMIT (no endpoint: no dispatch row either)
    sql = [" ".join(q["sql"].split()) for q in queries.captured_queries]
    assert [s.split(" ")[0] for s in sql] == ["BEGIN", "SELECT", "WITH", "COMMIT"]
    assert "ev_rows AS (INSERT INTO" in sql[2]
    assert Event.objects.filter(user__in=[sender.user, recipient.user], type="transaction.posted").count() == 3


@pytest.mark.django_db
def test_events_record_numbers_several_events_of_one_user_in_order() -> None:
    # given
    first, second = UserFactory.create(), UserFactory.create()
    events_record(drafts=[EventDraft(user_id=first.pk, type="wallet.created", object={}, created_at=_now())])
    # when
    events_record(
        drafts=[
            EventDraft(user_id=second.pk, type="wallet.created", object={"n": 1}, created_at=_now()),
            EventDraft(user_id=first.pk, type="wallet.frozen", object={"n": 2}, created_at=_now()),
            EventDraft(user_id=first.pk, type="wallet.unfrozen", object={"n": 3}, created_at=_now()),
        ]
    )
    # then
    rows = list(Event.objects.order_by("user_id", "sequence").values_list("user_id", "sequence", "data"))
    assert rows == [
        (first.pk, 1, {"object": {}}),
        (first.pk, 2, {"object": {"n": 2}}),
        (first.pk, 3, {"object": {"n": 3}}),
        (second.pk, 1, {"object": {"n": 1}}),
    ]


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
