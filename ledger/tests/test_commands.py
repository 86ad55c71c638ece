"""Operator commands: verify_ledger and seed_demo."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.models import LedgerTransaction
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_verify_ledger_is_clean_on_a_consistent_ledger() -> None:
    a = funded_wallet(amount="10.00")
    b = funded_wallet(amount="0")
    assert a.user and b.user
    transfer_create(sender=a.user, recipient=b.user.username, currency="USD", amount=Decimal("3.00"))
    code, out, err = run("verify_ledger")
    assert code == 0
    assert "0 discrepancies" in out
    assert err == ""


def test_verify_ledger_lists_each_discrepancy_and_exits_1() -> None:
    # given a balance changed behind the ledger's back (wallets are not trigger-protected)
    wallet = funded_wallet(amount="10.00")
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("11.00"))
    # when
    code, _, err = run("verify_ledger")
    # then
    assert code == 1
    assert "wallet_balance_matches_entries" in err
    assert "currency_accounts_sum_to_zero" in err
    assert "last_balance_after_is_balance" in err


def test_verify_ledger_json_and_held_check() -> None:
    wallet = funded_wallet(amount="10.00")
    Wallet.objects.filter(pk=wallet.pk).update(held=Decimal("1.00"))
    code, out, _ = run("verify_ledger", "--json")
    report = json.loads(out)
    assert code == 1
    assert report["ok"] is False
    assert [d["check"] for d in report["discrepancies"]] == ["wallet_held_matches_pending_withdrawals"]


def test_seed_demo_seeds_once_and_the_ledger_verifies(settings: Settings) -> None:
    settings.DEBUG = True
    code, _, _ = run("seed_demo")
    assert code == 0
    assert User.objects.filter(username__in=["alice", "bob", "carol", "ops"]).count() == 4
    transactions = LedgerTransaction.objects.count()
    assert transactions >= 6
    # idempotent
    run("seed_demo")
    assert LedgerTransaction.objects.count() == transactions
    assert run("verify_ledger")[0] == 0


def test_seed_demo_never_runs_on_a_database_with_data_or_without_debug(settings: Settings) -> None:
    settings.DEBUG = False
    run("seed_demo")
    assert not User.objects.exists()
    settings.DEBUG = True
    funded_wallet(user=UserFactory.create(username="realuser"))
    run("seed_demo")
    assert not User.objects.filter(username="alice").exists()


def test_seed_demo_dry_run_writes_nothing_and_json(settings: Settings) -> None:
    settings.DEBUG = True
    code, out, _ = run("seed_demo", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["outcome"] == "would_seed"
    assert not User.objects.exists()
    code, out, _ = run("seed_demo", "--json")
    assert json.loads(out)["outcome"] == "seeded" and "vaultcore-demo-password" not in out
    code, out, _ = run("seed_demo", "--json")
    assert json.loads(out)["outcome"] == "unchanged"
