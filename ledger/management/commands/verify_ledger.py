"""``manage.py verify_ledger``: recompute the ledger from its entries; exit 1 on any discrepancy."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ledger.verification import ledger_verify


class Command(BaseCommand):
    help = (
        "Recompute every account's balance and hold from the ledger, check that each transaction "
        "nets to zero per currency, that each currency's accounts sum to zero and that balance_after "
        "chains are consistent. Exits 1 listing each discrepancy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_verify()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(
                f"{report.checks} checks over {report.wallets} accounts, {report.transactions} transactions, "
                f"{report.entries} entries: {len(report.discrepancies)} discrepancies"
            )
            for item in report.discrepancies:
                self.stderr.write(f"  [{item.check}] {item.subject}: {item.detail}")
            if report.ok:
                self.stdout.write(self.style.SUCCESS("Ledger OK"))
        if not report.ok:
            raise SystemExit(1)
