"""Celery tasks of webhooks, fed by the outbox relay: the fan-out of an event batch to its
deliveries, one task per delivery attempt (queue ``webhooks``), the owner's email when an
endpoint is disabled."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from webhooks import services
from webhooks.emails import endpoint_disabled_email_send


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def events_dispatch(*, event_ids: list[str]) -> None:
    services.events_dispatch(event_ids=event_ids)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def webhook_deliver(*, delivery_id: int, attempt: int | None) -> None:
    """One attempt (``attempt`` None: a requested resend); HTTP is bounded by
    ``WEBHOOK_TIMEOUT_SECONDS``, far below the time limit."""
    services.delivery_attempt(delivery_id=delivery_id, attempt=attempt)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def endpoint_disabled_email(**payload: Any) -> None:
    endpoint_disabled_email_send(endpoint_id=payload["endpoint_id"])
