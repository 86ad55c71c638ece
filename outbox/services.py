"""Writes of the outbox: enqueue a side effect with its change, relay due rows to Celery.

``outbox_enqueue`` adds a row inside the caller's transaction. Right after that transaction
commits the relay tries the new row at once; when the broker is unreachable the row stays
``pending`` and the periodic relay (Celery beat, or ``manage.py relay_outbox``) hands it over
later. A relay claims rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and a short lease, so any
number of relays run side by side and never hand the same row over twice at once. Delivery is at
least once: handlers must be idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from outbox.models import OutboxMessage, OutboxStatus
from outbox.registry import UnknownTopic, topic_is_registered, topic_task
from vaultcore import tracing
from vaultcore.metrics import OUTBOX_RELAYED

logger = logging.getLogger("outbox")

# A claimed row is not relayed by anyone else for this long (a relay that died mid-batch).
CLAIM_LEASE = timedelta(minutes=5)
_MAX_ERROR_CHARS = 2000
# After the broker failed, the after-commit relay of this process skips the broker for a few
# seconds (the rows wait for the periodic relay), so an outage costs one failed connect, not one
# per request.
_broker_down_until = 0.0


def outbox_enqueue(*, topic: str, payload: dict[str, Any], delay: timedelta | None = None) -> OutboxMessage:
    """Record a side effect in the current transaction: ``outbox_enqueue(topic="payments.payout_request",
    payload={"transaction_id": txn.pk})``. ``payload`` is the JSON keyword arguments of the topic's task.

    It is handed to its task after commit (never if the transaction rolls back); ``delay`` holds it
    back that long. With tracing on, the row also keeps the current trace context, so its task
    continues the trace of the request that wrote it (vaultcore/tracing.py).
    """
    if not topic_is_registered(topic):
        raise UnknownTopic(f"no handler registered for outbox topic {topic!r}")
    carrier = tracing.trace_context_carrier()
    if carrier:
        payload = {**payload, tracing.TRACE_CARRIER_KEY: carrier}
    now = timezone.now()
    message = OutboxMessage.objects.create(
        topic=topic, payload=payload, created_at=now, next_attempt_at=now + (delay or timedelta(0))
    )
    if not delay:
        transaction.on_commit(partial(_relay_after_commit, message.pk))
    return message


def _relay_after_commit(pk: int) -> None:
    """Try the row just committed; never fails the (already committed) request."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return
    try:
        report = outbox_relay(ids=[pk])
    except Exception as exc:  # e.g. the database went away after commit: the periodic relay retries
        logger.error("outbox row %s not relayed after commit (%s); it stays pending", pk, type(exc).__name__)
        return
    if report.broker_down:
        _broker_down_until = time.monotonic() + settings.OUTBOX_BROKER_BACKOFF_SECONDS


@dataclass
class RelayReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    broker_down: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed

    def add(self, other: RelayReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.broker_down = self.broker_down or other.broker_down

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed, "broker_down": self.broker_down}


def outbox_relay(*, ids: Iterable[int] | None = None, limit: int = 100) -> RelayReport:
    """Hand up to ``limit`` due rows (of ``ids`` when given) to their Celery tasks.

    With a broker the task is published (fire and forget; a failed publish leaves the row pending
    with backoff, never failed: the broker outage ends). Without one (eager Celery) the task runs
    here, after the claim's transaction; a handler that keeps failing ends ``failed`` after
    ``OUTBOX_MAX_ATTEMPTS``.
    """
    report = RelayReport()
    for message in _claim(ids=ids, limit=limit):
        if report.broker_down:
            _record_failure(message, error="broker unreachable (not tried)", permanent=False, broker=True)
            report.retrying += 1
            continue
        try:
            task = topic_task(message.topic)
        except (UnknownTopic, ImportError) as exc:
            _record_failure(message, error=_describe(exc), permanent=True, broker=False)
            OUTBOX_RELAYED.labels(message.topic, "failed").inc()
            report.failed += 1
            continue
        eager = bool(task.app.conf.task_always_eager)
        kwargs = dict(message.payload)
        carrier = kwargs.pop(tracing.TRACE_CARRIER_KEY, None)
        try:
            with tracing.span(f"outbox.relay {message.topic}", carrier=carrier, outbox_id=message.pk):
                task.apply_async(kwargs=kwargs, ignore_result=True)
        except Exception as exc:  # a broker error, or (eager) the handler's own error
            failed = _record_failure(message, error=_describe(exc), permanent=False, broker=not eager)
            report.failed += failed
            report.retrying += not failed
            OUTBOX_RELAYED.labels(message.topic, "failed" if failed else "retrying").inc()
            report.broker_down = report.broker_down or not eager
            logger.warning(
                "outbox row %s (%s) attempt %d: %s %s",
                message.pk,
                message.topic,
                message.attempts,
                "handler failed:" if eager else "broker unreachable:",
                type(exc).__name__,
            )
            continue
        now = timezone.now()
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.SENT, sent_at=now, last_error="", next_attempt_at=now, updated_at=now
        )
        OUTBOX_RELAYED.labels(message.topic, "sent").inc()
        report.sent += 1
    return report


def outbox_relay_due(*, batch: int = 100, max_rows: int = 5000) -> RelayReport:
    """Relay everything due now, batch after batch (at most ``max_rows``); stops at a broker outage."""
    total = RelayReport()
    while total.handled < max_rows:
        report = outbox_relay(limit=batch)
        total.add(report)
        if report.handled < batch or report.broker_down:
            break
    if total.handled:
        logger.info("outbox relay: %d sent, %d retrying, %d failed", total.sent, total.retrying, total.failed)
    return total


def _claim(*, ids: Iterable[int] | None, limit: int) -> list[OutboxMessage]:
    """Lease due pending rows to this relay; rows another relay holds are skipped, not waited for."""
    now = timezone.now()
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now
        )
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        claimed = list(rows.order_by("next_attempt_at", "id")[:limit])
        if claimed:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE, updated_at=now
            )
    for message in claimed:
        message.attempts += 1
    return claimed


def _retry_delay(attempts: int) -> timedelta:
    base: float = settings.OUTBOX_RETRY_BASE_SECONDS
    cap: float = settings.OUTBOX_RETRY_MAX_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _record_failure(message: OutboxMessage, *, error: str, permanent: bool, broker: bool) -> bool:
    """Schedule the next attempt, or mark the row failed; True when it is now failed."""
    failed = permanent or (not broker and message.attempts >= settings.OUTBOX_MAX_ATTEMPTS)
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.FAILED if failed else OutboxStatus.PENDING,
        next_attempt_at=now if failed else now + _retry_delay(message.attempts),
        last_error=error[:_MAX_ERROR_CHARS],
        updated_at=now,
    )
    if failed:
        logger.error("outbox row %s (%s) failed after %d attempt(s)", message.pk, message.topic, message.attempts)
    return failed


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def outbox_retry(*, ids: Iterable[int], actor: str = "system") -> int:
    """Send failed (or waiting) rows again now, attempts counted afresh; returns how many."""
    ids = list(ids)
    now = timezone.now()
    with transaction.atomic():
        retried = OutboxMessage.objects.filter(
            pk__in=ids, status__in=[OutboxStatus.FAILED, OutboxStatus.PENDING]
        ).update(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        transaction.on_commit(partial(_relay_rows_quietly, ids))
    logger.info("outbox retry of %d row(s) requested by %s", retried, actor)
    return retried


def _relay_rows_quietly(ids: list[int]) -> None:
    try:
        outbox_relay(ids=ids, limit=len(ids))
    except Exception as exc:
        logger.error("outbox retry: relay failed (%s); the rows stay pending", type(exc).__name__)


def outbox_purge_sent(*, older_than: timedelta) -> int:
    """Delete rows sent longer than ``older_than`` ago (pending and failed ones are kept)."""
    deleted, _ = OutboxMessage.objects.filter(
        status=OutboxStatus.SENT, sent_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
