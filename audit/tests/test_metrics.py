"""The ledger verification metrics: the last finished run and the last one that passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerVerificationRun
from vaultcore.tests.scrape import sample, scraped


@pytest.mark.django_db
def test_without_any_run_the_ledger_counts_as_never_verified() -> None:
    samples = scraped()
    assert sample(samples, "vaultcore_ledger_verification_last_run_timestamp_seconds") == 0
    assert sample(samples, "vaultcore_ledger_verification_last_ok") == 0
    assert sample(samples, "vaultcore_ledger_verification_last_success_timestamp_seconds") == 0


@pytest.mark.django_db
def test_the_last_run_failed_after_an_earlier_success() -> None:
    # given a run that passed two hours ago, a failed one since, and one still running
    now = timezone.now()
    passed = now - timedelta(hours=2)
    LedgerVerificationRun.objects.create(started_at=passed, finished_at=passed, ok=True)
    LedgerVerificationRun.objects.create(started_at=now, finished_at=now, ok=False, discrepancy_count=3)
    LedgerVerificationRun.objects.create(started_at=now + timedelta(seconds=1))
    # when
    samples = scraped()
    # then
    assert sample(samples, "vaultcore_ledger_verification_last_ok") == 0
    assert sample(samples, "vaultcore_ledger_verification_last_discrepancies") == 3
    assert sample(samples, "vaultcore_ledger_verification_last_run_timestamp_seconds") == pytest.approx(now.timestamp())
    assert sample(samples, "vaultcore_ledger_verification_last_success_timestamp_seconds") == pytest.approx(
        passed.timestamp()
    )
