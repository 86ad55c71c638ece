"""``manage.py ledger_report``: balances per currency and account kind; exit 1 if a currency's
accounts do not sum to zero."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ledger.reports import ledger_report
from wallets.money import format_amount


class Command(BaseCommand):
    help = (
        "Print balances per currency and account kind (user wallets and each system account) and "
        "each currency's total, which must be zero in a double-entry ledger. Read-only. "
        "Exit codes: 0 balanced, 1 a currency does not sum to zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--currency", help="only this currency (ISO 4217 code)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        currency = (options["currency"] or "").upper() or None
        report = ledger_report(currency=currency)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            if not report.currencies:
                self.stdout.write("No accounts.")
            for c in report.currencies:
                self.stdout.write(f"{c.currency}")
                for line in c.lines:
                    balance = format_amount(line.balance, c.currency)
                    held = format_amount(line.held, c.currency)
                    self.stdout.write(
                        f"  {line.kind:<20} {line.accounts:>7} account(s)  balance {balance:>20}  held {held:>16}"
                    )
                total = format_amount(c.total, c.currency)
                if c.balanced:
                    self.stdout.write(self.style.SUCCESS(f"  total {total:>52}  balanced"))
                else:
                    self.stderr.write(self.style.ERROR(f"  total {total:>52}  NOT ZERO"))
        if not report.balanced:
            raise SystemExit(1)
