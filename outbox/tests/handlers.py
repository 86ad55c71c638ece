"""A Celery task the outbox tests register as a topic; it records its calls."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from outbox.registry import topic_register

calls: list[dict[str, Any]] = []
failures: list[BaseException] = []


@shared_task
def record(**kwargs: Any) -> None:
    if failures:
        raise failures[0]
    calls.append(kwargs)


topic_register("tests.record", "outbox.tests.handlers.record")
