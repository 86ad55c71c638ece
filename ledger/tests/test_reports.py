"""ledger_report: balances per currency and account kind; the per-currency total is zero."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.tests.factories import StaffFactory
from ledger.reports import ledger_report
from ledger.services.adjustments import adjustment_create
from ledger.tests.factories import funded_wallet

pytestmark = pytest.mark.django_db


def test_report_sums_user_and_system_accounts_to_zero() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    funded_wallet(amount="2.50")
    funded_wallet(currency="JPY", amount="500")
    adjustment_create(acting_user=StaffFactory.create(), wallet=wallet, amount=Decimal("1.00"), reason="bonus")
    # when
    report = ledger_report()
    # then
    jpy, usd = report.currencies
    assert report.balanced
    assert {line.kind: line.balance for line in usd.lines} == {
        "user": Decimal("13.50"),
        "provider_clearing": Decimal("-12.50"),
        "equity": Decimal("-1.00"),
    }
    assert jpy.total == 0
    out = StringIO()
    call_command("ledger_report", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["balanced"] is True
    assert data["currencies"][1]["accounts"][0]["balance"] == "-1.00"


def test_an_unbalanced_currency_exits_1() -> None:
    # given a balance changed behind the ledger's back (the CHECKs allow a system account to be
    # anything, so corrupt one; triggers guard entries, not this cached column)
    funded_wallet(amount="10.00")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_wallet SET balance = balance + 1 WHERE kind = 'system'")
    # when / then
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as excinfo:
        call_command("ledger_report", "--currency=usd", stdout=out, stderr=err)
    assert excinfo.value.code == 1
    assert "NOT ZERO" in err.getvalue()
