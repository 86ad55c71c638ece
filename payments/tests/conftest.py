"""Fixtures of payments tests: the Stripe stand-in, the webhook secret, signed deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from payments.tests.signing import TEST_WEBHOOK_SECRET
from payments.tests.stripe_standin import StripeStandIn


@pytest.fixture
def stripe_standin(settings: SettingsWrapper) -> Iterator[StripeStandIn]:
    """A running stand-in; the project's Stripe client points at it, with short timeouts."""
    standin = StripeStandIn(api_key="sk_test_standin", timeout_delay=1.5).start()
    settings.STRIPE_SECRET_KEY = standin.api_key
    settings.STRIPE_API_BASE = standin.url
    settings.STRIPE_TIMEOUT = 0.5
    settings.STRIPE_MAX_RETRIES = 3
    settings.STRIPE_RETRY_BACKOFF = 0.01
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def webhook_secret(settings: SettingsWrapper) -> str:
    settings.STRIPE_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET
    return TEST_WEBHOOK_SECRET


@pytest.fixture
def stripe_provider(settings: SettingsWrapper, stripe_standin: StripeStandIn, webhook_secret: str) -> StripeStandIn:
    """PAYMENTS_PROVIDER=stripe against the stand-in, webhooks signed with the test secret."""
    settings.PAYMENTS_PROVIDER = "stripe"
    return stripe_standin
