"""Wallet services: opening, freezing."""

import pytest

from accounts.tests.factories import StaffFactory, UserFactory
from wallets.exceptions import UnsupportedCurrency, WalletExists, WalletPermissionDenied
from wallets.models import Wallet, WalletStatus
from wallets.services import wallet_create, wallet_freeze, wallet_unfreeze
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


def test_wallet_create_opens_an_empty_wallet() -> None:
    # given
    user = UserFactory.create()
    # when
    wallet = wallet_create(user=user, currency="KWD")
    # then
    assert wallet.balance == 0
    assert wallet.held == 0
    assert wallet.status == WalletStatus.ACTIVE


def test_wallet_create_refuses_a_second_wallet_in_a_currency() -> None:
    user = UserFactory.create()
    wallet_create(user=user, currency="USD")
    with pytest.raises(WalletExists):
        wallet_create(user=user, currency="USD")
    assert Wallet.objects.filter(user=user).count() == 1


def test_wallet_create_refuses_disabled_currencies() -> None:
    user = UserFactory.create()
    with pytest.raises(UnsupportedCurrency):
        wallet_create(user=user, currency="XYZ")
    assert not Wallet.objects.filter(user=user).exists()


def test_only_staff_freeze_and_unfreeze() -> None:
    # given
    wallet = WalletFactory.create()
    # when / then
    with pytest.raises(WalletPermissionDenied):
        wallet_freeze(acting_user=UserFactory.create(), wallet=wallet, reason="fraud check")
    staff = StaffFactory.create()
    assert wallet_freeze(acting_user=staff, wallet=wallet, reason="fraud check").status == WalletStatus.FROZEN
    assert wallet_unfreeze(acting_user=staff, wallet=wallet, reason="cleared").status == WalletStatus.ACTIVE
