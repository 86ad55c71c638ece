"""Fixtures of this app's tests."""

import pytest
from pytest_django.fixtures import Settings


@pytest.fixture(autouse=True)
def _sandbox_provider(settings: Settings) -> None:
    """Tests run with DEBUG off; they use the sandbox provider explicitly."""
    settings.PAYMENTS_PROVIDER = "sandbox"
