"""Celery tasks of ledger: take ids, re-fetch, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from ledger.idempotency import idempotency_keys_delete_expired

logger = logging.getLogger("ledger.tasks")


@shared_task
def idempotency_keys_cleanup() -> int:
    """Delete idempotency keys older than ``IDEMPOTENCY_KEY_TTL_HOURS`` (at least 24 h)."""
    deleted = idempotency_keys_delete_expired()
    if deleted:
        logger.info("deleted %d expired idempotency keys", deleted)
    return deleted
