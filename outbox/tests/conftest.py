"""Fixtures of the outbox tests: a recording topic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from outbox.tests import handlers


@pytest.fixture
def recorded() -> Iterator[list[dict[str, Any]]]:
    """The calls of the ``tests.record`` topic's task (eager Celery runs it in-process)."""
    handlers.calls.clear()
    handlers.failures.clear()
    yield handlers.calls
    handlers.calls.clear()
    handlers.failures.clear()
