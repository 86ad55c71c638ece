"""Scrape-time gauges of the ledger verification (registered in AuditConfig.ready): the last
finished run of the hourly ``verify_ledger`` job (its result, when, how many discrepancies) and
the last one that passed."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily

from audit.models import LedgerVerificationRun


def ledger_verification_collect() -> Iterator[GaugeMetricFamily]:
    finished = LedgerVerificationRun.objects.filter(finished_at__isnull=False).order_by("-finished_at", "-id")
    last = finished.only("finished_at", "ok", "discrepancy_count", "error").first()
    last_ok = finished.filter(ok=True).values_list("finished_at", flat=True).first()
    yield GaugeMetricFamily(
        "vaultcore_ledger_verification_last_run_timestamp_seconds",
        "When the last verify_ledger run finished (Unix time; 0 when none ever did).",
        value=last.finished_at.timestamp() if last and last.finished_at else 0.0,
    )
    yield GaugeMetricFamily(
        "vaultcore_ledger_verification_last_ok",
        "1 when the last verify_ledger run found the books consistent, 0 when it found discrepancies, "
        "could not run, or none ran.",
        value=1.0 if last and last.ok else 0.0,
    )
    yield GaugeMetricFamily(
        "vaultcore_ledger_verification_last_discrepancies",
        "Discrepancies found by the last verify_ledger run.",
        value=last.discrepancy_count if last else 0,
    )
    yield GaugeMetricFamily(
        "vaultcore_ledger_verification_last_success_timestamp_seconds",
        "When the last verify_ledger run that passed finished (Unix time; 0 when none did).",
        value=last_ok.timestamp() if last_ok else 0.0,
    )
