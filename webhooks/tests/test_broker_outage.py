"""A broker outage, with a real one: our own ``redis-server`` is the Celery broker of this process
and of a real worker subprocess (queues ``celery`` and ``webhooks``, the test database); the
endpoint is the threaded receiver, which verifies every signature with ``standardwebhooks``.
While the broker is stopped, transfers still commit and write their events, the outbox keeps their
rows pending; once it runs again, the periodic relay hands them over and every event reaches the
endpoint exactly once, in sequence, with no gap."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from pytest_django.fixtures import Settings

from events.models import Event
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from outbox import services as outbox_services
from outbox.models import OutboxMessage, OutboxStatus
from outbox.services import outbox_relay_due
from vaultcore.celery import app as celery_app
from vaultcore.tests.live_server import REDIS_SERVER, database_env, free_port, process, redis_argv, server_env, wait_for
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.tests.factories import endpoint
from webhooks.tests.receiver import Receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("http_allowed"),
]

TRANSFERS_UP, TRANSFERS_DOWN = 2, 4


@contextmanager
def celery_publishing_to(url: str, settings: Settings) -> Iterator[None]:
    """This process's Celery app publishes to ``url`` (not eager) until the block ends. Its pools
    are kombu's process-wide pools of one broker URL: they are let go on the way in (as Celery does
    after a fork; the suite's own pool stays usable), and ours is closed on the way out (its URL,
    a spare port, is never used again)."""
    app: Any = celery_app  # its pools are private attributes
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}

    def let_go_of_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    settings.CELERY_BROKER_URL = url
    let_go_of_pools()
    app.conf.update(broker_url=url, task_always_eager=False)
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        let_go_of_pools()
        app.conf.update(saved)


def answers_ping(port: int) -> bool:
    try:
        with redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def pay(sender: Any, recipient: Any) -> None:
    transfer_create(sender=sender, recipient=recipient.username, currency="USD", amount=Decimal("1.00"))


def test_a_broker_outage_delays_deliveries_and_loses_none(
    receiver: Receiver, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given our own Redis as the broker of this process and of a worker on both queues
    broker_port = free_port()
    broker_url = f"redis://127.0.0.1:{broker_port}/0"
    logs = [tmp_path / "redis.log", tmp_path / "worker.log"]
    worker_env = server_env(
        {
            **database_env(),
            "REDIS_URL": broker_url,
            # plain http to the receiver on 127.0.0.1 (webhooks/network.py)
            "DEBUG": "True",
            "WEBHOOK_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
            "WEBHOOK_TIMEOUT_SECONDS": "5",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": "broker-outage-test-" + "x" * 50,
            "SECURE_SSL_REDIRECT": "False",
            "PAYMENTS_PROVIDER": "sandbox",
            "ALLOW_SANDBOX_PROVIDER": "True",
            "ENCRYPTION_KEYS": "test1:dmF1bHRjb3JlLXRlc3Qtb25seS1hZXMta2V5LTAwMDE=",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    worker_argv = [sys.executable, "-m", "celery", "-A", "vaultcore", "worker", "-P", "solo", "-Q", "celery,webhooks"]
    worker_argv += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
    # this process starts with no broker outage remembered (and leaves none behind)
    monkeypatch.setattr(outbox_services, "_broker_down_until", 0.0)

    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    before = Event.objects.filter(user=bob).count()
    _, secret = endpoint(user=bob, url=receiver.url("/bob"))
    receiver.secrets = {"/bob": [secret]}

    def delivered() -> list[int]:
        received = receiver.at("/bob")
        assert all(r.verified_with == [secret] for r in received)
        return [r.event["sequence"] for r in received]

    def relayed_until(count: int) -> bool:
        outbox_relay_due()  # what beat runs every OUTBOX_RELAY_INTERVAL_SECONDS
        return (
            len(delivered()) >= count and not WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()
        )

    with celery_publishing_to(broker_url, settings), process(worker_argv, worker_env, logs[1]):
        with process(redis_argv(broker_port), worker_env, logs[0]):
            wait_for(lambda: answers_ping(broker_port), "our Redis", logs)
            wait_for(lambda: "ready." in logs[1].read_text(), "the Celery worker", logs)

            # when transfers commit while the broker is up, they are delivered through it
            for _ in range(TRANSFERS_UP):
                pay(alice, bob)
            wait_for(lambda: relayed_until(TRANSFERS_UP), "the deliveries while the broker is up", logs, 30)
        assert not answers_ping(broker_port)

        # when the broker is stopped and more transfers commit
        for _ in range(TRANSFERS_DOWN):
            pay(alice, bob)

        # then the money moved and the events are written in gap-free sequence, nothing was
        # delivered, and their outbox rows wait (none failed, none lost)
        total = TRANSFERS_UP + TRANSFERS_DOWN
        assert bob.wallets.get().balance == Decimal("1.00") * total
        sequences = list(Event.objects.filter(user=bob).order_by("sequence").values_list("sequence", flat=True))
        assert sequences == list(range(1, before + total + 1))
        time.sleep(0.5)  # anything the worker still had would have arrived by now
        assert sorted(delivered()) == list(range(before + 1, before + TRANSFERS_UP + 1))
        assert not OutboxMessage.objects.filter(status=OutboxStatus.FAILED).exists()
        waiting = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, topic="events.dispatch")
        assert waiting.count() == TRANSFERS_DOWN
        assert outbox_relay_due().broker_down  # the periodic relay finds it still down: rows stay

        # when the broker runs again on the same port and the periodic relay runs
        with process(redis_argv(broker_port), worker_env, logs[0]):
            wait_for(lambda: answers_ping(broker_port), "our Redis, again", logs)
            wait_for(lambda: relayed_until(total), "the deliveries after the outage", logs, 30)

            # then every event reached the endpoint exactly once, sequences without a gap
            counts = Counter(delivered())
            assert sorted(counts) == list(range(before + 1, before + total + 1))
            assert set(counts.values()) == {1}
            assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == total
            assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
