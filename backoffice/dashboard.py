"""The back-office dashboard (admin index): a few aggregate queries, never a loop over rows.

Per currency: total user balances and holds, every system account's balance, today's posted
volume by transaction type, and deposits/withdrawals still pending after
``RECONCILIATION_PENDING_MINUTES``. Plus open reconciliation issues (when the payments app has
them), pending maker-checker approvals, the last hourly ledger verification and the outbox's
waiting and failed rows. Eight queries whatever the data size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from audit.models import LedgerVerificationRun
from backoffice.display import money
from ledger.approvals import superuser_threshold
from ledger.models import ApprovalRequest, ApprovalStatus, LedgerTransaction, TransactionStatus, TransactionType
from outbox.selectors import OutboxHealth, outbox_health
from wallets.models import SystemAccount, Wallet, WalletKind
from wallets.money import ZERO

# The hourly verification is overdue (beat or worker not running) after this long.
LEDGER_CHECK_OVERDUE = timedelta(hours=2)


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
    reconciliation_available: bool
    reconciliation_open: int
    reconciliation_by_kind: list[tuple[str, int]]
    ledger_check: LedgerVerificationRun | None
    ledger_check_overdue: bool
    outbox: OutboxHealth

    @property
    def ledger_check_failed(self) -> bool:
        return self.ledger_check is not None and self.ledger_check.finished_at is not None and not self.ledger_check.ok


def _fmt(amount: Decimal | None, currency: str) -> str:
    return money(amount or ZERO, currency)


def dashboard_get() -> Dashboard:
    """Compute the dashboard with aggregate queries."""
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

    # 2. today's posted volume per currency and type (UTC day, like the daily limits)
    now = timezone.now()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    volume: Any = (
        LedgerTransaction.objects.filter(status=TransactionStatus.POSTED, posted_at__gte=day_start)
        .values("currency", "type")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("currency", "type")
    )
    for row in volume:
        tile(row["currency"]).today.append((row["type"], row["n"], _fmt(row["total"], row["currency"])))

    # 3. deposits/withdrawals pending longer than the reconciliation age
    minutes: int = settings.RECONCILIATION_PENDING_MINUTES
    stale: Any = (
        LedgerTransaction.objects.filter(
            status=TransactionStatus.PENDING,
            type__in=[TransactionType.DEPOSIT, TransactionType.WITHDRAWAL],
            created_at__lt=now - timedelta(minutes=minutes),
        )
        .values("currency", "type")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("currency", "type")
    )
    for row in stale:
        tile(row["currency"]).stale_pending.append((row["type"], row["n"], _fmt(row["total"], row["currency"])))

    # 4. pending approvals, by kind; those above their currency's threshold need a superuser
    thresholds = Q()
    overrides: dict[str, str] = settings.ADJUSTMENT_SUPERUSER_THRESHOLDS
    for currency, limit in overrides.items():
        thresholds |= Q(currency=currency, amount__gt=Decimal(str(limit)))
    thresholds |= ~Q(currency__in=list(overrides)) & Q(amount__gt=superuser_threshold(""))
    pending = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING)
    approvals = list(pending.values("kind").annotate(n=Count("id"), big=Count("id", filter=thresholds)))

    # 5. open reconciliation issues, when the payments app records them
    reconciliation_available = True
    by_kind: list[tuple[str, int]] = []
    try:
        issue_model = apps.get_model("payments", "ReconciliationIssue")
    except LookupError:
        reconciliation_available = False
    else:
        by_kind = [
            (row["kind"], row["n"])
            for row in issue_model.objects.filter(status="open").values("kind").annotate(n=Count("id")).order_by("kind")
        ]

    # 6. the last scheduled ledger verification, and 7. the outbox (side effects waiting or failed)
    ledger_check = LedgerVerificationRun.objects.order_by("-started_at", "-id").first()
    overdue = ledger_check is None or ledger_check.started_at < now - LEDGER_CHECK_OVERDUE

    return Dashboard(
        currencies=[tiles[c] for c in sorted(tiles)],
        pending_minutes=minutes,
        approvals_pending=sum(row["n"] for row in approvals),
        approvals_pending_superuser=sum(row["big"] for row in approvals),
        approvals_by_kind=[(row["kind"], row["n"]) for row in approvals],
        reconciliation_available=reconciliation_available,
        reconciliation_open=sum(n for _, n in by_kind),
        reconciliation_by_kind=by_kind,
        ledger_check=ledger_check,
        ledger_check_overdue=overdue,
        outbox=outbox_health(),
    )
