"""Celery tasks of the back-office."""

from __future__ import annotations

from celery import shared_task

from backoffice.ledger_checks import ledger_verification_run


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=1900)
def verify_ledger() -> None:
    """Hourly (Celery beat): ``verify_ledger``; a failure is logged at ERROR and shown on the
    admin dashboard."""
    ledger_verification_run()
