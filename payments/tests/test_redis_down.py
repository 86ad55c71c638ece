"""Money correctness never depends on Redis: with Redis unreachable the API keeps moving money
(deposits, transfers, withdrawal holds); only background work (job locks) waits."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.tests.factories import UserFactory
from ledger.models import TransactionStatus
from payments.job_lock import single_run_lock
from payments.tests.flows import assert_books_balance, client_for, deliver, funded_user, wallet_of
from payments.tests.stripe_standin import StripeStandIn
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings: SettingsWrapper) -> Iterator[None]:
    settings.REDIS_URL = CLOSED
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    # (pytest-django's settings fixture resets the cache handlers on CACHES changes)
    yield


@pytest.mark.parametrize(
    "throttled",
    [
        True,
        False,
    ],
    ids=["throttles-on", "throttles-off"],
)
def test_deposits_and_transfers_through_the_api_work_with_redis_down(
    settings: SettingsWrapper, stripe_provider: StripeStandIn, redis_down: None, throttled: bool
) -> None:
    # given two users, one funded, and Redis unreachable
    if not throttled:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": None, "auth_ip": None, "auth_account": None},
        }
    alice = funded_user(settings, amount="50.00")
    bob = UserFactory.create(username="bob-redis-down")
    WalletFactory.create(user=bob, currency="USD")
    api = client_for(alice)

    # when alice deposits through Stripe (signed webhook) and sends money to bob
    deposit = api.post("/api/v1/transactions/deposit/", {"currency": "USD", "amount": "20.00"})
    assert deposit.status_code == 201, deposit.content
    pi = stripe_provider.succeed_payment_intent(next(iter(stripe_provider.payment_intents)))
    assert deliver(StripeStandIn.event("payment_intent.succeeded", pi)) == 200
    transfer = api.post(
        "/api/v1/transactions/transfer/", {"recipient": "bob-redis-down", "currency": "USD", "amount": "60.00"}
    )

    # then both moved money correctly
    assert transfer.status_code == 201, transfer.content
    assert api.get(f"/api/v1/transactions/{deposit.json()['id']}/").json()["status"] == TransactionStatus.POSTED
    assert wallet_of(alice).balance == Decimal("10.00")
    assert wallet_of(bob).balance == Decimal("60.00")
    assert_books_balance()


def test_background_jobs_wait_when_redis_is_down(redis_down: None) -> None:
    # when a job asks for its single-run lock
    with single_run_lock("payments:reconcile") as acquired:
        # then it does not run (rather than risk two hosts running it)
        assert acquired is False
