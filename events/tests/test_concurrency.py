"""Many concurrent transfers among a few users: exactly one event per party each, and every
user's sequences gap-free and strictly increasing in commit order (real commits, threads)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import User
from events.models import Event
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet

TRANSFERS = 500
USERS = 6


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_transfers_leave_two_events_each_with_gap_free_sequences() -> None:
    # given six users with money
    users: list[User] = []
    for _ in range(USERS):
        wallet = funded_wallet(amount="1000.00")
        assert wallet.user is not None
        users.append(wallet.user)
    before = Event.objects.count()
    pairs = [random.sample(users, 2) for _ in range(TRANSFERS)]

    def transfer(pair: list[User]) -> None:
        try:
            transfer_create(sender=pair[0], recipient=pair[1].username, currency="USD", amount=Decimal("1.00"))
        finally:
            connection.close()

    # when they all pay each other at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(transfer, pairs))

    # then one event per party per transfer
    assert Event.objects.count() - before == 2 * TRANSFERS
    for user in users:
        rows = list(Event.objects.filter(user=user).order_by("sequence").values_list("sequence", flat=True))
        # gap-free from 1 (and unique: the constraint), so strictly increasing
        assert rows == list(range(1, len(rows) + 1))
