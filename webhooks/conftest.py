"""Fixtures of this app's tests: a live webhook receiver, the development URL rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from webhooks.tests.receiver import Receiver, receiver_running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_running()


@pytest.fixture
def http_allowed(settings: Settings) -> Settings:
    """Plain http endpoints, as in DEBUG (the receiver speaks http on 127.0.0.1, which the test
    settings allow through WEBHOOK_ALLOWED_PRIVATE_NETWORKS)."""
    settings.DEBUG = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    return settings
