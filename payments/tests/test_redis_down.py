"""Money correctness never depends on Redis: with Redis unreachable the API keeps moving money
(deposits, transfers, withdrawal holds) and answers at once; side effects wait in the outbox and
follow when Redis is back; only background work (job locks) waits."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.tests.factories import UserFactory
from accounts.tokens import VaultRefreshToken
from ledger.models import TransactionStatus
from outbox.models import OutboxMessage
from payments.job_lock import single_run_lock
from payments.models import StripeEvent, StripeEventStatus
from payments.tests.flows import assert_books_balance, client_for, deliver, funded_user, wallet_of
from payments.tests.signing import stripe_signature_header
from payments.tests.stripe_standin import StripeStandIn
from vaultcore.tests import live_server
from wallets.tests.factories import WalletFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1
REDIS_SERVER = shutil.which("redis-server")


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


# --- A real Redis stopped mid-test ------------------------------------------------------------
def _redis_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """Our own redis-server on ``port`` (never the shared one), without persistence."""
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            REDIS_SERVER or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                return proc
        except redis.RedisError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _timed(
    port: int, method: str, path: str, body: str, headers: dict[str, str] | None = None
) -> tuple[int, str, float]:
    """One request on a new connection: (status, body, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode(), time.monotonic() - started
    finally:
        conn.close()


def _wait_for(condition: Callable[[], bool], what: str, logs: list[Path], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen; " + "\n".join(p.read_text()[-3000:] for p in logs)
        time.sleep(0.25)


@pytest.mark.slow
@pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")
def test_with_redis_stopped_requests_answer_at_once_and_side_effects_follow_when_it_returns(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    # given our own Redis, an API server (production settings) using it as broker and cache, and a
    # funded user with a verified address
    redis_port, api_port = live_server.free_port(), live_server.free_port()
    redis_log = tmp_path / "redis.log"
    redis_proc = _redis_server(redis_port, redis_log)
    secret = "whsec_redis_down_test"
    env = live_server.server_env(
        {
            "SECRET_KEY": settings.SECRET_KEY,  # the JWT below is signed with it
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "False",
            "PAYMENTS_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_redis_down",
            "STRIPE_WEBHOOK_SECRET": secret,
            "STRIPE_API_BASE": "http://127.0.0.1:1",
            "ENCRYPTION_KEYS": "k1:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CACHE_KEY_PREFIX": f"redis-down-{redis_port}",
            **live_server.database_env(),
            "GUNICORN_BIND": f"127.0.0.1:{api_port}",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_ACCESSLOG": "",
            "GUNICORN_LOGLEVEL": "warning",
        }
    )
    alice = funded_user(settings, amount="50.00")
    alice.email = "alice-redis-down@example.com"
    alice.save(update_fields=["email"])
    api_log, worker_log, relay_log = tmp_path / "api.log", tmp_path / "worker.log", tmp_path / "relay.log"
    argv = ["-m", "gunicorn", "-c", "gunicorn.conf.py", "vaultcore.wsgi:application"]
    try:
        with live_server.running(argv, env, api_port, api_log):
            bearer = {"Authorization": f"Bearer {VaultRefreshToken.for_user(alice).access_token}"}
            warm_up = _timed(api_port, "POST", "/api/v1/auth/forgot-password/", json.dumps({"email": "w@example.com"}))
            assert warm_up[0] == 202, warm_up

            # when Redis stops and users register, ask for password resets, withdraw, and Stripe
            # delivers a webhook
            _stop(redis_proc)
            event = StripeStandIn.event("payout.updated", {"id": "po_rd", "object": "payout", "status": "in_transit"})
            event_body = json.dumps(event)
            answers = {
                "register": _timed(
                    api_port,
                    "POST",
                    "/api/v1/auth/register/",
                    json.dumps(
                        {
                            "username": "newcomer",
                            "email": "newcomer@example.com",
                            "password": "a-Long-enough-passw0rd",
                            "first_name": "New",
                            "last_name": "Comer",
                        }
                    ),
                ),
                "forgot-known": _timed(
                    api_port, "POST", "/api/v1/auth/forgot-password/", json.dumps({"email": alice.email})
                ),
                "forgot-unknown": _timed(
                    api_port, "POST", "/api/v1/auth/forgot-password/", json.dumps({"email": "nobody@example.com"})
                ),
                "withdraw": _timed(
                    api_port,
                    "POST",
                    "/api/v1/transactions/withdraw/",
                    json.dumps({"currency": "USD", "amount": "5.00"}),
                    {**bearer, "Idempotency-Key": "redis-down-withdraw"},
                ),
                "webhook": _timed(
                    api_port,
                    "POST",
                    "/api/v1/payments/stripe/webhook/",
                    event_body,
                    {"Stripe-Signature": stripe_signature_header(event_body, secret)},
                ),
            }

            # then each answered as usual, in well under a second
            statuses = {name: status for name, (status, _, _) in answers.items()}
            assert statuses == {
                "register": 201,
                "forgot-known": 202,
                "forgot-unknown": 202,
                "withdraw": 201,
                "webhook": 200,
            }, answers
            slow = {name: round(took, 3) for name, (_, _, took) in answers.items() if took >= 1}
            assert not slow, slow
            assert answers["forgot-known"][1] == answers["forgot-unknown"][1]
            # the side effects wait in the outbox
            waiting = OutboxMessage.objects.filter(status="pending").values_list("topic", flat=True)
            assert sorted(waiting) == [
                "accounts.password_reset_email",
                "accounts.password_reset_email",
                "accounts.verification_email",
                "payments.payout_request",
                "payments.stripe_event_process",
            ]

            # when Redis is back, with a Celery worker and the relay running
            redis_proc = _redis_server(redis_port, redis_log)
            worker_argv = [
                "-m", "celery", "-A", "vaultcore", "worker", "-P", "solo", "-l", "INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"redis-down-{redis_port}@%h",
            ]  # fmt: skip
            with (
                _process(worker_argv, env, worker_log),
                _process(["manage.py", "relay_outbox", "--interval", "0.5"], env, relay_log),
            ):
                # then the emails arrive (the reset link only for the known address), the webhook
                # event is processed and the withdrawal's payout request is handed to the worker
                logs = [worker_log, relay_log]
                _wait_for(lambda: "To: newcomer@example.com" in worker_log.read_text(), "verification email", logs)
                _wait_for(lambda: f"To: {alice.email}" in worker_log.read_text(), "reset email", logs)
                _wait_for(
                    lambda: StripeEvent.objects.get(stripe_id=event["id"]).status == StripeEventStatus.PROCESSED,
                    "webhook processing",
                    logs,
                )
                assert "nobody@example.com" not in worker_log.read_text()
                assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    finally:
        _stop(redis_proc)


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, *argv], cwd=live_server.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
