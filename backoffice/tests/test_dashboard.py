"""The admin index dashboard: correct aggregates, and a query count that does not grow."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from backoffice.dashboard import dashboard_get
from ledger.approvals import adjustment_propose
from ledger.models import Direction, LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet, withdrawal_hold
from outbox.models import OutboxMessage, OutboxStatus
from payments.models import StripeEvent, StripeEventStatus
from payments.tests.factories import StripeEventFactory
from payments.withdrawals import withdrawal_create
from wallets.models import SystemAccount, Wallet
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
            StripeEventFactory.create(status=StripeEventStatus.FAILED)
            OutboxMessage.objects.create(topic="t.failed", payload={}, status=OutboxStatus.FAILED)
    # then
    assert queries() == few


def _pending_deposit(wallet: Wallet, *, age: timedelta, amount: str = "4.00") -> LedgerTransaction:
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency=wallet.currency)
    return LedgerTransaction.objects.create(
        type=TransactionType.DEPOSIT,
        status=TransactionStatus.PENDING,
        currency=wallet.currency,
        amount=Decimal(amount),
        debit_wallet=clearing,
        credit_wallet=wallet,
        created_at=timezone.now() - age,
    )


def test_the_volume_charts_hold_each_days_posted_total_per_type_and_currency() -> None:
    # given today: two USD deposits, a USD transfer and an EUR deposit
    sender = funded_wallet(amount="10.00")
    funded_wallet(user=UserFactory.create(username="bob"), amount="5.25")
    funded_wallet(currency="EUR", amount="3.00")
    assert sender.user is not None
    transfer_create(sender=sender.user, recipient="bob", currency="USD", amount=Decimal("1.26"))
    # when
    today = dashboard_get()
    tomorrow = dashboard_get(now=timezone.now() + timedelta(days=1))
    next_month = dashboard_get(now=timezone.now() + timedelta(days=30))
    # then one chart per currency, 30 days ending today, the totals on today's bar
    eur, usd = today.volume_charts
    assert (eur.unit, usd.unit, len(usd.labels)) == ("EUR", "USD", 30)
    assert usd.labels[-1] == timezone.now().strftime("%m-%d")
    assert [s.name for s in usd.series] == ["deposit", "transfer"]
    assert usd.values_of("deposit")[-1] == Decimal("15.25") and sum(usd.values_of("deposit")) == Decimal("15.25")
    assert usd.values_of("transfer")[-1] == Decimal("1.26")
    assert eur.values_of("deposit")[-1] == Decimal("3.00") and eur.values_of("transfer") == [Decimal(0)] * 30
    # and the picture says the same: a bar per type with its exact amount, the axis in 2 digits
    svg = usd.svg
    assert svg.count('class="bo-bar"') == 2
    assert f"{usd.labels[-1]}: deposit 15.25 USD" in svg and f"{usd.labels[-1]}: transfer 1.26 USD" in svg
    assert ">20.00</text>" in svg and ">10.00</text>" in svg
    # then tomorrow they are yesterday's bar, and a month later out of the window
    assert tomorrow.volume_charts[1].values_of("deposit")[-2:] == [Decimal("15.25"), Decimal(0)]
    assert next_month.volume_charts == []
    assert "nothing to show" in next_month.failures_chart.svg


def test_the_pending_chart_counts_deposits_and_withdrawals_by_age(settings) -> None:
    # given pending deposits aged 1 min, 10 min, 2 h and 2 days, and a withdrawal just held
    settings.RECONCILIATION_PENDING_MINUTES = 30
    wallet = funded_wallet(amount="10.00")
    for age in (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=2), timedelta(days=2)):
        _pending_deposit(wallet, age=age)
    withdrawal_hold(wallet=wallet, amount="2.00")
    # when
    dashboard = dashboard_get()
    # then
    chart = dashboard.pending_chart
    assert chart.labels == ["< 5 min", "5-30 min", "30 min-1 h", "1-6 h", "6-24 h", "> 24 h"]
    assert chart.values_of("deposit") == [1, 1, 0, 1, 0, 1]
    assert chart.values_of("withdrawal") == [1, 0, 0, 0, 0, 0]
    # and the two older than the reconciliation age are the tile's stale ones
    assert dashboard.currencies[0].stale_pending == [("deposit", 2, "8.00")]


def test_failures_and_stuck_webhooks_and_side_effects() -> None:
    # given a failed transaction, failed and stuck Stripe events and outbox rows, and healthy ones
    wallet = funded_wallet(amount="1.00")
    failed_deposit = _pending_deposit(wallet, age=timedelta(minutes=1))
    LedgerTransaction.objects.filter(pk=failed_deposit.pk).update(
        status=TransactionStatus.FAILED, finalized_at=timezone.now()
    )
    now = timezone.now()
    failed_event = StripeEventFactory.create(status=StripeEventStatus.FAILED, error="boom")
    stuck_event = StripeEventFactory.create()
    leased = StripeEventFactory.create(locked_until=now + timedelta(minutes=5))
    StripeEventFactory.create()  # just received
    StripeEvent.objects.filter(pk__in=[stuck_event.pk, leased.pk]).update(received_at=now - timedelta(minutes=11))
    OutboxMessage.objects.create(topic="t.failed", payload={}, status=OutboxStatus.FAILED)
    stuck_row = OutboxMessage.objects.create(topic="t.stuck", payload={}, created_at=now - timedelta(minutes=11))
    OutboxMessage.objects.create(topic="t.fresh", payload={})
    OutboxMessage.objects.create(
        topic="t.sent", payload={}, status=OutboxStatus.SENT, created_at=now - timedelta(hours=1)
    )
    # when
    dashboard = dashboard_get()
    # then
    assert (dashboard.stripe.failed, dashboard.stripe.stuck) == (1, 1)
    assert [e.pk for e in dashboard.stripe_attention] == [stuck_event.pk, failed_event.pk]
    assert (dashboard.outbox.failed, dashboard.outbox.stuck, dashboard.outbox.pending) == (1, 1, 2)
    assert [row.topic for row in dashboard.outbox_attention] == [stuck_row.topic, "t.failed"]
    failures = dashboard.failures_chart
    assert [s.name for s in failures.series] == ["transactions", "Stripe events", "outbox rows"]
    assert [failures.values_of(name)[-1] for name in ("transactions", "Stripe events", "outbox rows")] == [1, 1, 1]
    assert sum(sum(s.values) for s in failures.series) == 3


def test_the_dashboard_page_shows_the_charts_and_stuck_rows() -> None:
    # given
    funded_wallet(amount="12.50")
    StripeEventFactory.create(status=StripeEventStatus.FAILED, stripe_id="evt_failed_1")
    client = Client()
    client.force_login(StaffFactory.create())
    # when
    html = client.get("/admin/").content.decode()
    # then
    for chart in ("chart-volume-USD", "chart-pending-age", "chart-failures"):
        assert f'id="{chart}"' in html
    assert html.count("<svg viewBox") >= 3 and "12.50 USD</title>" in html
    assert "evt_failed_1" in html and 'id="stripe-failed"' in html
    # and only the index computes it, not each app's page
    assert "backoffice-dashboard" not in client.get("/admin/ledger/").content.decode()
