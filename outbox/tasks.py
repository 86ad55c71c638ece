"""Celery tasks of the outbox: the periodic relay (beat) and the purge of old sent rows."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from outbox.services import outbox_purge_sent, outbox_relay_due


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def outbox_relay() -> None:
    """Periodic: hand every due pending row to its task (rows written while the broker was down,
    rows whose after-commit relay failed, retries)."""
    outbox_relay_due()


@shared_task(ignore_result=True)
def outbox_purge() -> None:
    """Periodic: delete rows sent more than ``OUTBOX_RETENTION_DAYS`` ago."""
    outbox_purge_sent(older_than=timedelta(days=settings.OUTBOX_RETENTION_DAYS))
