"""The hourly verify_ledger: scheduled in beat, a failure logged at ERROR and shown on the dashboard."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from audit.models import LedgerVerificationRun
from backoffice.dashboard import dashboard_get
from backoffice.tasks import verify_ledger
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def _dashboard_html() -> str:
    client = Client()
    client.force_login(StaffFactory.create())
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def test_verify_ledger_runs_hourly_in_beat() -> None:
    entry: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE["backoffice-verify-ledger"]
    assert entry == {"task": verify_ledger.name, "schedule": 3600.0}


def test_a_clean_run_is_recorded_and_shown_ok(caplog: pytest.LogCaptureFixture) -> None:
    # given a consistent ledger
    funded_wallet(amount="10.00")

    # when the hourly job runs
    with caplog.at_level(logging.INFO, logger="backoffice.ledger_checks"):
        verify_ledger.delay()

    # then it is recorded, logged at INFO and the dashboard says OK
    run = LedgerVerificationRun.objects.get()
    assert (run.ok, run.discrepancy_count, run.error) == (True, 0, "")
    assert [r.levelno for r in caplog.records if r.name == "backoffice.ledger_checks"] == [logging.INFO]
    assert dashboard_get().ledger_check_overdue is False
    html = _dashboard_html()
    assert 'id="ledger-check-status">OK</td>' in "".join(line.strip() for line in html.splitlines())


def test_a_failed_run_is_logged_at_error_and_shown_on_the_dashboard(caplog: pytest.LogCaptureFixture) -> None:
    # given a balance changed behind the ledger's back
    wallet = funded_wallet(amount="10.00")
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("11.00"))

    # when the hourly job runs
    with caplog.at_level(logging.INFO, logger="backoffice.ledger_checks"):
        verify_ledger.delay()

    # then the failure is logged at ERROR, recorded, and shown in red with the first discrepancies
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "discrepancies" in errors[0].getMessage()
    run = LedgerVerificationRun.objects.get()
    assert run.ok is False and run.discrepancy_count == 3
    assert {d["check"] for d in run.discrepancies} >= {"wallet_balance_matches_entries"}
    html = _dashboard_html()
    assert '<span class="bo-alert">3 discrepancies</span>' in html
    assert "[wallet_balance_matches_entries] wallet" in html


def test_the_dashboard_says_when_the_check_never_ran_or_is_overdue() -> None:
    assert "never run" in _dashboard_html()

    LedgerVerificationRun.objects.create(
        started_at=timezone.now() - timedelta(hours=3), finished_at=timezone.now(), ok=True
    )

    assert dashboard_get().ledger_check_overdue is True
    assert "(overdue)" in _dashboard_html()
