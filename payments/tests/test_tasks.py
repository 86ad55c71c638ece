import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.tests.factories import UserFactory
from ledger.models import TransactionStatus
from outbox.models import OutboxMessage
from payments.deposits import deposit_create
from payments.models import StripeEvent, StripeEventStatus
from payments.services import STRIPE_EVENT_LEASE, stripe_events_requeue_stale
from payments.tasks import process_stripe_event, requeue_stale_stripe_events
from payments.tests.factories import StripeEventFactory
from payments.tests.signing import signed_delivery
from payments.tests.stripe_standin import StripeStandIn
from vaultcore.celery import app
from wallets.tests.factories import WalletFactory

REDIS_URL = os.environ.get("REDIS_URL", "")
URL = "/api/v1/payments/stripe/webhook/"


def _redis_available() -> bool:
    if not REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def _celery_worker(tmp_path: Path) -> Iterator[Path]:
    """A Celery worker process consuming a private queue from Redis, against this test database;
    tasks sent meanwhile go to it (not eager). Yields the worker's log file."""
    queue = f"payments-test-{os.getpid()}-{time.time_ns()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vaultcore.settings_test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": REDIS_URL,
    }
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-m", "celery", "-A", "vaultcore", "worker", "-P", "solo", "-Q", queue, "-l", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    eager, default_queue = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield log_path
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = eager, default_queue
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


def _wait_processed(stripe_id: str, log_path: Path) -> StripeEvent:
    deadline = time.monotonic() + 60
    stored = StripeEvent.objects.get(stripe_id=stripe_id)
    while stored.status == StripeEventStatus.RECEIVED and time.monotonic() < deadline:
        time.sleep(0.2)
        stored.refresh_from_db()
    assert stored.status == StripeEventStatus.PROCESSED, log_path.read_text()[-3000:]
    return stored


@pytest.mark.slow
@pytest.mark.skipif(not _redis_available(), reason="needs REDIS_URL pointing at a running Redis")
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_processes_a_webhook_event_from_redis(webhook_secret: str, tmp_path: Path) -> None:
    # given: a Celery worker process consuming from Redis, against this test database
    with _celery_worker(tmp_path) as log_path:
        # when: Stripe delivers an event
        event = StripeStandIn.event("payout.updated", {"id": "po_1", "object": "payout", "status": "in_transit"})
        response = Client().post(URL, **signed_delivery(event))

        # then: the API answered at once; the worker processed the stored event
        assert response.status_code == 200
        stored = _wait_processed(event["id"], log_path)
        assert stored.attempts == 1
        assert stored.note.startswith("Ignored: no handler")
        assert "payments.tasks.process_stripe_event" in log_path.read_text()


@pytest.mark.slow
@pytest.mark.skipif(not _redis_available(), reason="needs REDIS_URL pointing at a running Redis")
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_posts_a_stripe_deposit_from_its_webhook(
    settings: SettingsWrapper, stripe_provider: StripeStandIn, tmp_path: Path
) -> None:
    # given a pending Stripe deposit whose payment succeeded
    user = UserFactory.create()
    WalletFactory.create(user=user, currency="USD")
    deposit, _ = deposit_create(user=user, currency="USD", amount=Decimal("15.00"))
    pi = stripe_provider.succeed_payment_intent(deposit.reference)

    with _celery_worker(tmp_path) as log_path:
        # when the signed succeeded event is delivered (twice)
        event = StripeStandIn.event("payment_intent.succeeded", pi)
        assert Client().post(URL, **signed_delivery(event)).status_code == 200
        assert Client().post(URL, **signed_delivery(event)).status_code == 200

        # then the worker posted the deposit once
        stored = _wait_processed(event["id"], log_path)
    assert stored.note == f"Deposit {deposit.public_id} posted."
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.POSTED
    assert deposit.credit_wallet.balance == Decimal("15.00")
    assert deposit.credit_wallet.entries.count() == 1


@pytest.mark.django_db
def test_requeue_stale_events_processes_events_left_received(
    settings: SettingsWrapper, django_capture_on_commit_callbacks: Any
) -> None:
    # given: one event received 10 minutes ago and never processed (broker was down), one fresh
    settings.REDIS_URL = ""  # the job lock falls back to PostgreSQL
    stale = StripeEventFactory.create(type="customer.updated")
    StripeEvent.objects.filter(pk=stale.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    fresh = StripeEventFactory.create(type="customer.updated")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        queued = requeue_stale_stripe_events.delay().get()

    # then
    assert queued == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == StripeEventStatus.PROCESSED
    assert fresh.status == StripeEventStatus.RECEIVED


def test_an_event_whose_worker_died_is_picked_up_again_within_a_minute() -> None:
    # the lease outlives any run of the task (a live worker is never doubled) ...
    assert (process_stripe_event.time_limit or 0) < STRIPE_EVENT_LEASE.total_seconds()
    # ... and once it expired, the next sweep queues the event again: within a minute of the claim
    sweep: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE["payments-requeue-stale-stripe-events"]
    assert sweep["task"] == requeue_stale_stripe_events.name
    assert STRIPE_EVENT_LEASE.total_seconds() + float(sweep["schedule"]) <= 60


@pytest.mark.django_db
def test_the_sweep_leaves_events_whose_outbox_row_still_waits_for_the_broker(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an event stored while the broker was down: its outbox row is still pending
    waiting = StripeEventFactory.create(type="customer.updated")
    OutboxMessage.objects.create(topic="payments.stripe_event_process", payload={"event_pk": waiting.pk})
    lost = StripeEventFactory.create(type="customer.updated")  # its task was handed over, then lost
    StripeEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))

    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        queued = stripe_events_requeue_stale(older_than_seconds=30)

    # then only the lost one is queued again (and processed: eager Celery)
    assert queued == 1
    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert (lost.status, waiting.status) == (StripeEventStatus.PROCESSED, StripeEventStatus.RECEIVED)
    assert OutboxMessage.objects.filter(payload__event_pk=waiting.pk).count() == 1
