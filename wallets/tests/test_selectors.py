"""Reads of wallets: a wallet by its public id is the owner's only."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from wallets.exceptions import WalletNotFound
from wallets.models import SystemAccount
from wallets.selectors import wallet_get_by_id
from wallets.services import system_wallet_get
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


def test_the_owner_gets_the_wallet_by_its_public_id_in_one_query() -> None:
    # given
    owner = UserFactory.create()
    wallet = WalletFactory.create(user=owner, currency="EUR")
    # when
    with CaptureQueriesContext(connection) as queries:
        found = wallet_get_by_id(user=owner, public_id=str(wallet.public_id))
    # then
    assert len(queries.captured_queries) == 1
    assert (found.pk, found.public_id, found.currency, found.user_id) == (
        wallet.pk,
        wallet.public_id,
        "EUR",
        wallet.user_id,
    )
    assert found.balance == wallet.balance and found.status == wallet.status


@pytest.mark.parametrize("public_id", ["", "not-a-uuid", None, 42, str(uuid.uuid4())])
def test_a_malformed_or_unknown_id_is_wallet_not_found(public_id: object) -> None:
    owner = UserFactory.create()
    WalletFactory.create(user=owner)
    with pytest.raises(WalletNotFound):
        wallet_get_by_id(user=owner, public_id=public_id)


def test_another_users_wallet_is_not_found() -> None:
    # given
    me = UserFactory.create()
    WalletFactory.create(user=me)
    theirs = WalletFactory.create()
    # when / then
    with pytest.raises(WalletNotFound):
        wallet_get_by_id(user=me, public_id=theirs.public_id)


def test_a_system_account_is_never_a_users_wallet() -> None:
    # given a system wallet, asked for by a user (system wallets have no owner)
    system = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency="USD")
    user = UserFactory.create()
    # when / then
    with pytest.raises(WalletNotFound):
        wallet_get_by_id(user=user, public_id=system.public_id)
