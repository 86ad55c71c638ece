"""Fixtures of the back-office tests."""

import pytest
from pytest_django.fixtures import Settings

from outbox.tests.conftest import recorded  # noqa: F401 - the outbox admin's tests use it


@pytest.fixture(autouse=True)
def _sandbox_provider(settings: Settings) -> None:
    """Tests run with DEBUG off; they use the sandbox provider explicitly."""
    settings.PAYMENTS_PROVIDER = "sandbox"
