"""``manage.py relay_outbox [--once]``: hand pending outbox rows to their Celery tasks."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from outbox.selectors import outbox_due_count
from outbox.services import RelayReport, outbox_relay_due


class Command(BaseCommand):
    help = (
        "Hand pending outbox rows (emails, provider calls, event processing) to their Celery tasks; "
        "without a broker (no REDIS_URL) they run here. With --once: what is due now, then exit "
        "(1 when rows were left for later: broker unreachable or a handler failing). Without --once: "
        "keep relaying every --interval seconds until SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="relay what is due now and exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between passes without --once (default OUTBOX_RELAY_INTERVAL_SECONDS)",
        )
        parser.add_argument("--json", action="store_true", help="print each pass's counts as JSON")
        parser.add_argument("--dry-run", action="store_true", help="count the rows due now, relay nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            due = outbox_due_count()
            self.stdout.write(json.dumps({"due": due}) if options["json"] else f"{due} row(s) due")
            return
        if options["once"]:
            report = outbox_relay_due()
            self._print(report, options["json"], always=True)
            if report.retrying or report.failed:
                raise SystemExit(1)
            return
        interval = options["interval"] or float(settings.OUTBOX_RELAY_INTERVAL_SECONDS)
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"relaying the outbox every {interval:g} s (SIGTERM or Ctrl-C stops)")
        while not stopping:
            close_old_connections()
            try:
                report = outbox_relay_due()
            except Exception as exc:  # e.g. the database restarting: try again next pass
                self.stderr.write(f"relay pass failed: {type(exc).__name__}")
            else:
                self._print(report, options["json"], always=False)
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
        close_old_connections()

    def _print(self, report: RelayReport, as_json: bool, *, always: bool) -> None:
        if not (always or report.handled):
            return
        if as_json:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            broker = " (broker unreachable)" if report.broker_down else ""
            self.stdout.write(f"{report.sent} sent, {report.retrying} retrying, {report.failed} failed{broker}")
