"""Read-only ledger reports for operators (``manage.py ledger_report``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from wallets.models import Wallet, WalletKind
from wallets.money import ZERO, format_amount


@dataclass
class AccountLine:
    kind: str  # "user" or the system account code
    accounts: int
    balance: Decimal
    held: Decimal


@dataclass
class CurrencyReport:
    currency: str
    lines: list[AccountLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """User wallets plus system accounts: zero when every transaction was double-entry."""
        return sum((line.balance for line in self.lines), ZERO)

    @property
    def balanced(self) -> bool:
        return self.total == ZERO


@dataclass
class LedgerReport:
    currencies: list[CurrencyReport]

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.currencies)

    def as_dict(self) -> dict[str, Any]:
        def amount(value: Decimal, currency: str) -> str:
            return format_amount(value, currency)

        return {
            "balanced": self.balanced,
            "currencies": [
                {
                    "currency": c.currency,
                    "accounts": [
                        {
                            "kind": line.kind,
                            "accounts": line.accounts,
                            "balance": amount(line.balance, c.currency),
                            "held": amount(line.held, c.currency),
                        }
                        for line in c.lines
                    ],
                    "total": amount(c.total, c.currency),
                    "balanced": c.balanced,
                }
                for c in self.currencies
            ],
        }


def ledger_report(*, currency: str | None = None) -> LedgerReport:
    """Balances per currency and account kind (one aggregate query over the wallets)."""
    qs = Wallet.objects.all()
    if currency:
        qs = qs.filter(currency=currency)
    rows: Any = (
        qs.values("currency", "kind", "system_code")
        .annotate(accounts=Count("id"), balance=Sum("balance"), held=Sum("held"))
        .order_by("currency", "kind", "system_code")
    )
    reports: dict[str, CurrencyReport] = {}
    for row in rows:
        report = reports.setdefault(row["currency"], CurrencyReport(currency=row["currency"]))
        kind = WalletKind.USER.value if row["kind"] == WalletKind.USER else str(row["system_code"])
        report.lines.append(
            AccountLine(kind=kind, accounts=row["accounts"], balance=row["balance"] or ZERO, held=row["held"] or ZERO)
        )
    return LedgerReport(currencies=[reports[c] for c in sorted(reports)])
