"""Database rules of wallets, proven by bypassing the Python guards."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from accounts.tests.factories import UserFactory
from ledger.tests.factories import funded_wallet
from wallets.models import SystemAccount, Wallet, WalletKind
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes",
    [
        {"balance": Decimal("-0.01")},
        {"held": Decimal("-0.01")},
        {"held": Decimal("100.01")},  # available would be negative
    ],
)
def test_user_wallet_can_never_go_negative_in_the_database(changes: dict[str, Decimal]) -> None:
    # given
    wallet = funded_wallet(amount="100.00")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(**changes)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100.00")
    assert wallet.held == Decimal("0")


def test_system_accounts_may_go_negative() -> None:
    # given
    wallet = Wallet.objects.create(kind=WalletKind.SYSTEM, system_code=SystemAccount.EQUITY, currency="USD")
    # when
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("-500"))
    # then
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("-500")


def test_one_wallet_per_user_and_currency_in_the_database() -> None:
    # given
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(kind=WalletKind.USER, user=user, currency="USD")
    WalletFactory.create(user=user, currency="EUR")
    assert Wallet.objects.filter(user=user).count() == 2


def test_kind_and_owner_must_agree() -> None:
    user = UserFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(kind=WalletKind.SYSTEM, user=user, currency="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(kind=WalletKind.USER, user=None, currency="USD")


def test_status_must_be_known() -> None:
    wallet = WalletFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(status="closed")


@pytest.mark.ledger_left_inconsistent  # writes balances/rows around the services on purpose
@pytest.mark.django_db(transaction=True)
def test_balance_updates_stay_on_their_page_and_write_no_index_entry() -> None:
    """The table's fill factor (migration 0003) leaves room on every page, so a balance update is
    heap-only (HOT). Without it, wallets created together fill their pages and most updates move
    the row and insert into all five indexes (this test then fails: checked)."""
    # given wallets created together (several pages' worth), committed
    wallets = WalletFactory.create_batch(150, currency="USD")
    every_third = [wallet.pk for wallet in wallets[::3]]
    # when a third of them change balance in one transaction (nothing pruned in between)
    with transaction.atomic(), connection.cursor() as cursor:
        Wallet.objects.filter(pk__in=every_third).update(balance=F("balance") + Decimal("1.00"))
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Wallet._meta.db_table, Wallet._meta.db_table],
        )
        updated, heap_only = cursor.fetchone()
    # then
    assert (updated, heap_only) == (len(every_third), len(every_third))


def test_a_wallet_is_named_by_its_owner_and_currency() -> None:
    # given
    wallet = WalletFactory.create(user=UserFactory.create(username="alice"), currency="EUR")
    fees = Wallet.objects.create(kind=WalletKind.SYSTEM, system_code=SystemAccount.FEES, currency="EUR")
    # then
    assert (str(wallet), str(fees)) == ("alice · EUR", "system: Fees · EUR")
