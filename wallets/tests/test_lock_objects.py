"""The lock helper: one query, ascending primary key, FOR UPDATE."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from wallets.lock_objects import wallets_lock
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


def test_wallets_are_locked_in_ascending_pk_order_in_one_query() -> None:
    # given
    first, second, third = (WalletFactory.create() for _ in range(3))
    # when
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = wallets_lock(ids=[third.pk, first.pk, second.pk, first.pk])
    # then
    assert list(locked) == [first.pk, second.pk, third.pk]
    sql = [q["sql"] for q in queries.captured_queries if "wallets_wallet" in q["sql"]]
    assert len(sql) == 1
    assert 'ORDER BY "wallets_wallet"."id" ASC' in sql[0]
    assert sql[0].rstrip().endswith("FOR UPDATE")
