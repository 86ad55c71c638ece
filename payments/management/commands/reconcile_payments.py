"""``python manage.py reconcile_payments [--since ISO] [--dry-run] [--json]``."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from payments.exceptions import JobLockUnavailable
from payments.reconciliation import payments_reconcile


def _since(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: {value!r} is not an ISO 8601 date or date-time.")
        parsed = datetime(day.year, day.month, day.day)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


class Command(BaseCommand):
    help = (
        "Settle Stripe deposits and withdrawals pending longer than RECONCILIATION_PENDING_MINUTES from "
        "their state at Stripe (same services as the webhooks); record mismatches as reconciliation issues; "
        "re-request payouts that were never created. One run at a time across hosts."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", help="Only transactions created at or after this ISO 8601 date/date-time.")
        parser.add_argument("--dry-run", action="store_true", help="Read from Stripe, change nothing.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--limit", type=int, default=500, help="At most this many of each kind (default 500).")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _since(options["since"]) if options["since"] else None
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            report = payments_reconcile(since=since, dry_run=options["dry_run"], limit=options["limit"])
        except JobLockUnavailable as exc:
            raise CommandError(
                "Another reconciliation run holds the lock (or Redis is unreachable); try again later."
            ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        for outcome in report.outcomes:
            self.stdout.write(f"{outcome['type']} {outcome['transaction']}: {outcome['outcome']}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Dry run: ' if report.dry_run else ''}{report.deposits_checked} deposit(s) and "
                f"{report.withdrawals_checked} withdrawal(s) checked, {report.payouts_requested} payout(s) "
                f"requested, {report.unavailable} left for later (Stripe unavailable)."
            )
        )
