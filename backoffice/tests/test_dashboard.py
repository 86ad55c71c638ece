"""The admin index dashboard: correct aggregates, and a query count that does not grow."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from backoffice.dashboard import dashboard_get
from ledger.approvals import adjustment_propose
from ledger.models import Direction, LedgerTransaction, TransactionStatus, TransactionType
from ledger.tests.factories import funded_wallet
from payments.withdrawals import withdrawal_create
from wallets.models import SystemAccount
from wallets.services import system_wallet_get

pytestmark = pytest.mark.django_db


def test_dashboard_totals_per_currency() -> None:
    # given two USD wallets, one EUR wallet, and a proposal waiting
    first = funded_wallet(amount="10.00")
    funded_wallet(amount="5.25")
    funded_wallet(currency="EUR", amount="3.00")
    adjustment_propose(
        acting_user=StaffFactory.create(), wallet=first, direction=Direction.CREDIT, amount="1", reason="x"
    )
    # when
    dashboard = dashboard_get()
    # then
    eur, usd = dashboard.currencies
    assert (usd.currency, usd.user_wallets, usd.user_balance, usd.user_held) == ("USD", 2, "15.25", "0.00")
    assert ("Payment provider clearing", "-15.25") in usd.system
    assert usd.today == [("deposit", 2, "15.25")]
    assert eur.user_balance == "3.00"
    assert dashboard.approvals_pending == 1
    assert dashboard.approvals_by_kind == [("adjustment", 1)]


def test_stale_pending_withdrawals_are_counted(settings) -> None:
    # given a withdrawal still pending after the reconciliation age (the payout never answered)
    settings.RECONCILIATION_PENDING_MINUTES = 30
    wallet = funded_wallet(amount="10.00")
    assert wallet.user is not None
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency="USD")
    LedgerTransaction.objects.create(
        type=TransactionType.DEPOSIT,
        status=TransactionStatus.PENDING,
        currency="USD",
        amount=Decimal("4.00"),
        debit_wallet=clearing,
        credit_wallet=wallet,
        created_at=timezone.now() - timedelta(minutes=31),
    )
    # when
    usd = dashboard_get().currencies[0]
    # then
    assert usd.stale_pending == [("deposit", 1, "4.00")]


def test_the_admin_index_shows_the_dashboard_with_a_constant_number_of_queries() -> None:
    # given
    client = Client()
    client.force_login(StaffFactory.create())
    funded_wallet(amount="1.00")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/admin/")
        assert response.status_code == 200
        assert "backoffice-dashboard" in response.content.decode()
        assert "VaultCore back-office" in response.content.decode()
        return len(captured)

    few = queries()
    # when the data grows (more wallets, currencies, transactions, withdrawals)
    for currency in ("USD", "EUR", "GBP"):
        for _ in range(5):
            wallet = funded_wallet(currency=currency, amount="9.00")
            assert wallet.user is not None
            withdrawal_create(user=wallet.user, currency=currency, amount=Decimal("1.00"))
    # then
    assert queries() == few
