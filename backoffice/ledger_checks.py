"""The hourly ledger verification (back-office): run ``verify_ledger``, record the outcome for the
admin dashboard, log a failure at ERROR. Imports the ledger, so no domain app imports this module."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from django.utils import timezone

from audit.models import LedgerVerificationRun
from ledger.verification import ledger_verify

logger = logging.getLogger("backoffice.ledger_checks")

_KEPT_DISCREPANCIES = 50
_RETENTION = timedelta(days=30)


def ledger_verification_run() -> LedgerVerificationRun:
    """Run every ledger check and record the run; any discrepancy, or a run that could not
    complete, is logged at ERROR. Runs older than 30 days are deleted."""
    run = LedgerVerificationRun.objects.create()
    try:
        report = ledger_verify()
    except Exception as exc:  # recorded and shown on the dashboard, then raised for Celery
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        logger.error("verify_ledger could not run: %s", type(exc).__name__)
        raise
    run.ok = report.ok
    run.discrepancy_count = len(report.discrepancies)
    run.discrepancies = [asdict(item) for item in report.discrepancies[:_KEPT_DISCREPANCIES]]
    run.finished_at = timezone.now()
    run.save(update_fields=["ok", "discrepancy_count", "discrepancies", "finished_at"])
    if report.ok:
        logger.info("verify_ledger: ok (%d checks over %d entries)", report.checks, report.entries)
    else:
        first = report.discrepancies[0]
        logger.error(
            "verify_ledger: %d discrepancies, first [%s] %s: %s",
            len(report.discrepancies),
            first.check,
            first.subject,
            first.detail,
        )
    LedgerVerificationRun.objects.filter(started_at__lt=timezone.now() - _RETENTION).delete()
    return run
