"""The back-office dashboard (admin index): a few aggregate queries, never a loop over rows.

Per currency: total user balances and holds, every system account's balance, today's posted
volume by transaction type, and deposits/withdrawals still pending after
``RECONCILIATION_PENDING_MINUTES``. Plus open reconciliation issues, pending maker-checker
approvals, the last hourly ledger verification, the outbox's waiting, stuck and failed rows,
failed or stuck Stripe events, and three charts: daily posted volume per type over
``CHART_DAYS`` days (one per currency), pending deposits/withdrawals by age, and daily failures.
The selectors aggregate in SQL; the count of queries does not grow with the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from audit.models import LedgerVerificationRun
from backoffice.charts import Chart, Series
from backoffice.display import money
from ledger.approvals import superuser_threshold
from ledger.models import ApprovalRequest, ApprovalStatus, TransactionType
from ledger.selectors import transaction_daily_failures, transaction_daily_volume, transaction_pending_by_age
from outbox.models import OutboxMessage
from outbox.selectors import OutboxHealth, outbox_daily_failures, outbox_health, outbox_list_needing_attention
from payments.models import ReconciliationIssue, ReconciliationIssueStatus, StripeEvent
from payments.selectors import (
    StripeEventHealth,
    stripe_event_daily_failures,
    stripe_event_health,
    stripe_event_list_needing_attention,
)
from wallets.models import SystemAccount, Wallet, WalletKind
from wallets.money import ZERO, quantum

# The hourly verification is overdue (beat or worker not running) after this long.
LEDGER_CHECK_OVERDUE = timedelta(hours=2)
# A Stripe event still ``received`` or an outbox row still ``pending`` this long is stuck: the
# requeue task and the relay run every minute or so.
STUCK_AFTER = timedelta(minutes=10)
# Days of history in the volume and failure charts (today included).
CHART_DAYS = 30
# Stuck rows listed by name on the dashboard (the counts cover all of them).
ATTENTION_ROWS = 5
# Age buckets of the pending chart: (label, older than).
PENDING_AGE_BUCKETS: list[tuple[str, timedelta]] = [
    ("< 5 min", timedelta(0)),
    ("5-30 min", timedelta(minutes=5)),
    ("30 min-1 h", timedelta(minutes=30)),
    ("1-6 h", timedelta(hours=1)),
    ("6-24 h", timedelta(hours=6)),
    ("> 24 h", timedelta(hours=24)),
]


@dataclass
class CurrencyTile:
    currency: str
    user_wallets: int = 0
    user_balance: str = "0"
    user_held: str = "0"
    user_available: str = "0"
    system: list[tuple[str, str]] = field(default_factory=list)
    today: list[tuple[str, int, str]] = field(default_factory=list)  # (type, count, total)
    stale_pending: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass
class Dashboard:
    currencies: list[CurrencyTile]
    pending_minutes: int
    approvals_pending: int
    approvals_pending_superuser: int
    approvals_by_kind: list[tuple[str, int]]
    reconciliation_open: int
    reconciliation_by_kind: list[tuple[str, int]]
    ledger_check: LedgerVerificationRun | None
    ledger_check_overdue: bool
    outbox: OutboxHealth
    outbox_attention: list[OutboxMessage]
    stripe: StripeEventHealth
    stripe_attention: list[StripeEvent]
    stuck_minutes: int
    volume_charts: list[Chart]
    pending_chart: Chart
    failures_chart: Chart

    @property
    def ledger_check_failed(self) -> bool:
        return self.ledger_check is not None and self.ledger_check.finished_at is not None and not self.ledger_check.ok


def _fmt(amount: Decimal | None, currency: str) -> str:
    return money(amount or ZERO, currency)


def _days(today: date) -> list[date]:
    return [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]


def _day_label(day: date) -> str:
    return day.strftime("%m-%d")


def _volume_charts(rows: list[Any], days: list[date]) -> list[Chart]:
    """One chart per currency: the posted total of each type per day."""
    index = {day: i for i, day in enumerate(days)}
    by_currency: dict[str, dict[str, list[Decimal]]] = {}
    for row in rows:
        per_type = by_currency.setdefault(row["currency"], {})
        per_type.setdefault(row["type"], [ZERO] * len(days))[index[row["day"]]] = row["total"]
    charts = []
    for currency in sorted(by_currency):
        per_type = by_currency[currency]
        charts.append(
            Chart(
                key=f"volume-{currency}",
                title="Posted volume per day",
                labels=[_day_label(day) for day in days],
                series=[Series(t, per_type[t]) for t in TransactionType.values if t in per_type],
                value_text=partial(money, currency=currency),
                unit=currency,
                step=quantum(currency),
            )
        )
    return charts


def _pending_chart(rows: list[Any]) -> Chart:
    """Pending deposits and withdrawals (all currencies) counted by age bucket."""
    counts: dict[str, list[Decimal]] = {}
    for row in rows:
        older = [row[f"older_{i}"] for i in range(len(PENDING_AGE_BUCKETS))] + [0]
        per_bucket = counts.setdefault(row["type"], [ZERO] * len(PENDING_AGE_BUCKETS))
        for i in range(len(PENDING_AGE_BUCKETS)):
            per_bucket[i] += older[i] - older[i + 1]
    return Chart(
        key="pending-age",
        title="Pending deposits and withdrawals by age",
        labels=[label for label, _ in PENDING_AGE_BUCKETS],
        series=[Series(t, counts[t]) for t in (TransactionType.DEPOSIT, TransactionType.WITHDRAWAL) if t in counts],
    )


def _failures_chart(days: list[date], series: dict[str, list[Any]]) -> Chart:
    index = {day: i for i, day in enumerate(days)}
    values: list[Series] = []
    for name, rows in series.items():
        per_day = [ZERO] * len(days)
        for row in rows:
            per_day[index[row["day"]]] = Decimal(row["n"])
        values.append(Series(name, per_day))
    return Chart(key="failures", title="Failures per day", labels=[_day_label(day) for day in days], series=values)


def dashboard_get(*, now: datetime | None = None) -> Dashboard:
    """Compute the dashboard with aggregate queries."""
    now = now or timezone.now()
    tiles: dict[str, CurrencyTile] = {}

    def tile(currency: str) -> CurrencyTile:
        return tiles.setdefault(currency, CurrencyTile(currency=currency))

    # 1. balances per currency: users in one sum, each system account in its own filtered sum
    system_sums = {
        f"sys_{code}": Sum("balance", filter=Q(kind=WalletKind.SYSTEM, system_code=code))
        for code in SystemAccount.values
    }
    user = Q(kind=WalletKind.USER)
    balances: Any = Wallet.objects.values("currency").annotate(
        user_wallets=Count("id", filter=user),
        user_balance=Sum("balance", filter=user),
        user_held=Sum("held", filter=user),
        **system_sums,
    )
    for row in balances:
        currency = row["currency"]
        t = tile(currency)
        t.user_wallets = row["user_wallets"]
        t.user_balance = _fmt(row["user_balance"], currency)
        t.user_held = _fmt(row["user_held"], currency)
        t.user_available = _fmt((row["user_balance"] or ZERO) - (row["user_held"] or ZERO), currency)
        t.system = [
            (SystemAccount(code).label, _fmt(row[f"sys_{code}"], currency))
            for code in SystemAccount.values
            if row[f"sys_{code}"] is not None
        ]

    # 2. posted volume per UTC day, currency and type over the chart's days; today's in the tiles
    days = _days(now.date())
    since = datetime.combine(days[0], datetime.min.time(), tzinfo=now.tzinfo)
    volume = transaction_daily_volume(since=since)
    for row in volume:
        if row["day"] == days[-1]:
            tile(row["currency"]).today.append((row["type"], row["n"], _fmt(row["total"], row["currency"])))

    # 3. pending deposits/withdrawals by age: the chart, and those past the reconciliation age
    minutes: int = settings.RECONCILIATION_PENDING_MINUTES
    ages = {f"older_{i}": age for i, (_, age) in enumerate(PENDING_AGE_BUCKETS)}
    pending = transaction_pending_by_age(now=now, older_than={**ages, "stale": timedelta(minutes=minutes)})
    for row in pending:
        if row["stale"]:
            tile(row["currency"]).stale_pending.append(
                (row["type"], row["stale"], _fmt(row["stale_total"], row["currency"]))
            )

    # 4. pending approvals, by kind; those above their currency's threshold need a superuser
    thresholds = Q()
    overrides: dict[str, str] = settings.ADJUSTMENT_SUPERUSER_THRESHOLDS
    for currency, limit in overrides.items():
        thresholds |= Q(currency=currency, amount__gt=Decimal(str(limit)))
    thresholds |= ~Q(currency__in=list(overrides)) & Q(amount__gt=superuser_threshold(""))
    waiting = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING)
    approvals = list(waiting.values("kind").annotate(n=Count("id"), big=Count("id", filter=thresholds)))

    # 5. open reconciliation issues
    by_kind = [
        (row["kind"], row["n"])
        for row in ReconciliationIssue.objects.filter(status=ReconciliationIssueStatus.OPEN)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    ]

    # 6. the last scheduled ledger verification
    ledger_check = LedgerVerificationRun.objects.order_by("-started_at", "-id").first()
    overdue = ledger_check is None or ledger_check.started_at < now - LEDGER_CHECK_OVERDUE

    # 7. side effects and webhooks: failed or stuck outbox rows and Stripe events (counts, oldest few)
    stuck_before = now - STUCK_AFTER
    outbox = outbox_health(stuck_before=stuck_before)
    outbox_attention = list(outbox_list_needing_attention(stuck_before=stuck_before)[:ATTENTION_ROWS])
    stripe = stripe_event_health(received_before=stuck_before, now=now)
    stripe_attention = list(stripe_event_list_needing_attention(received_before=stuck_before, now=now)[:ATTENTION_ROWS])

    # 8. failures per day: transactions, Stripe events, outbox rows
    failures = {
        "transactions": transaction_daily_failures(since=since),
        "Stripe events": stripe_event_daily_failures(since=since),
        "outbox rows": outbox_daily_failures(since=since),
    }

    return Dashboard(
        currencies=[tiles[c] for c in sorted(tiles)],
        pending_minutes=minutes,
        approvals_pending=sum(row["n"] for row in approvals),
        approvals_pending_superuser=sum(row["big"] for row in approvals),
        approvals_by_kind=[(row["kind"], row["n"]) for row in approvals],
        reconciliation_open=sum(n for _, n in by_kind),
        reconciliation_by_kind=by_kind,
        ledger_check=ledger_check,
        ledger_check_overdue=overdue,
        outbox=outbox,
        outbox_attention=outbox_attention,
        stripe=stripe,
        stripe_attention=stripe_attention,
        stuck_minutes=int(STUCK_AFTER.total_seconds() // 60),
        volume_charts=_volume_charts(volume, days),
        pending_chart=_pending_chart(pending),
        failures_chart=_failures_chart(days, failures),
    )
