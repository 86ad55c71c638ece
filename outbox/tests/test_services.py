"""The outbox: rows written with their change, relayed once after commit, retried, never lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from pytest_django.fixtures import Settings as SettingsWrapper

from outbox import services
from outbox.models import OutboxMessage, OutboxStatus
from outbox.registry import UnknownTopic
from outbox.services import outbox_enqueue, outbox_purge_sent, outbox_relay, outbox_relay_due, outbox_retry
from outbox.tests import handlers


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Celery with a broker (not eager) whose publish fails; yields the publish attempts' times."""
    attempts: list[float] = []

    def refuse(**kwargs: Any) -> None:
        attempts.append(time.monotonic())
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    conf = handlers.record.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    monkeypatch.setattr(handlers.record, "apply_async", refuse)
    monkeypatch.setattr(services, "_broker_down_until", 0.0)
    try:
        yield attempts
    finally:
        conf.task_always_eager = eager


@pytest.mark.django_db(transaction=True)
def test_a_row_is_relayed_once_right_after_its_transaction_commits(recorded: list[dict[str, Any]]) -> None:
    # when a change enqueues a side effect
    with transaction.atomic():
        message = outbox_enqueue(topic="tests.record", payload={"user_id": 7})
        # then nothing runs before commit
        assert recorded == []

    # then it ran once after commit (eager Celery: in-process) and the row is sent
    assert recorded == [{"user_id": 7}]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 1, "")
    assert message.sent_at is not None
    # and a later relay does not send it again
    assert outbox_relay_due().handled == 0
    assert recorded == [{"user_id": 7}]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_written_or_sent_when_the_change_rolls_back(recorded: list[dict[str, Any]]) -> None:
    # when the transaction that enqueued a side effect fails
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(topic="tests.record", payload={"user_id": 7})
        raise RuntimeError("the change failed")

    # then there is no row and nothing ran
    assert not OutboxMessage.objects.exists()
    assert recorded == []


@pytest.mark.django_db
def test_an_unknown_topic_is_refused_at_enqueue() -> None:
    with pytest.raises(UnknownTopic):
        outbox_enqueue(topic="tests.nobody-handles-this", payload={})
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_row_stays_pending_and_is_relayed_when_it_is_back(
    broker_down: list[float], recorded: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # when two changes commit while the broker is unreachable
    started = time.monotonic()
    first = outbox_enqueue(topic="tests.record", payload={"n": 1})
    second = outbox_enqueue(topic="tests.record", payload={"n": 2})
    elapsed = time.monotonic() - started

    # then neither fails: the rows wait, with the error and a retry time
    assert elapsed < 1
    assert len(broker_down) == 1  # the second commit skipped the broker (it just failed)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == OutboxStatus.PENDING
    assert "Connection refused" in first.last_error
    assert first.attempts == 1 and first.next_attempt_at > timezone.now()
    assert second.attempts == 0

    # when the broker is back (eager here) and the periodic relay runs after the backoff
    monkeypatch.undo()
    handlers.record.app.conf.task_always_eager = True
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    report = outbox_relay_due()

    # then both side effects happen, once each
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)
    assert sorted(call["n"] for call in recorded) == [1, 2]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


@pytest.mark.django_db
def test_broker_failures_back_off_but_never_fail_a_row(broker_down: list[float], settings: SettingsWrapper) -> None:
    # given a row the broker refused many times
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = OutboxMessage.objects.create(topic="tests.record", payload={})

    # when the relay tries again and again
    delays = []
    for _ in range(8):
        outbox_relay(ids=[message.pk])
        message.refresh_from_db()
        delays.append(round((message.next_attempt_at - timezone.now()).total_seconds()))
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    # then it stays pending with exponential backoff up to the cap
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 8
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]


@pytest.mark.django_db
def test_a_failing_handler_is_retried_then_marked_failed(
    recorded: list[dict[str, Any]], settings: SettingsWrapper
) -> None:
    # given a handler that raises (eager Celery runs it in the relay)
    settings.OUTBOX_MAX_ATTEMPTS = 3
    handlers.failures.append(ValueError("bad payload"))
    message = OutboxMessage.objects.create(topic="tests.record", payload={})

    # when the relay tries it three times
    statuses = []
    for _ in range(3):
        outbox_relay()
        message.refresh_from_db()
        statuses.append(message.status)
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    # then it is failed, with the error kept, and no relay picks it up again
    assert statuses == [OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.FAILED]
    assert message.last_error == "ValueError: bad payload"
    assert outbox_relay_due().handled == 0

    # when an operator retries it after the fix
    handlers.failures.clear()
    outbox_retry(ids=[message.pk], actor="ops")
    outbox_relay_due()

    # then it is sent
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert recorded == [{}]


@pytest.mark.django_db
def test_a_row_of_an_unregistered_topic_fails_at_once() -> None:
    message = OutboxMessage.objects.create(topic="tests.gone", payload={})

    report = outbox_relay()

    message.refresh_from_db()
    assert (report.failed, message.status) == (1, OutboxStatus.FAILED)
    assert "UnknownTopic" in message.last_error


@pytest.mark.django_db
def test_rows_not_yet_due_wait(recorded: list[dict[str, Any]]) -> None:
    OutboxMessage.objects.create(topic="tests.record", payload={}, next_attempt_at=timezone.now() + timedelta(hours=1))

    assert outbox_relay_due().handled == 0
    assert recorded == []


@pytest.mark.django_db(transaction=True)
def test_a_row_another_relay_holds_is_skipped_not_waited_for(recorded: list[dict[str, Any]]) -> None:
    # given two due rows, one locked by another relay's transaction
    held = OutboxMessage.objects.create(topic="tests.record", payload={"n": "held"})
    OutboxMessage.objects.create(topic="tests.record", payload={"n": "free"})
    locked, release = threading.Event(), threading.Event()

    def other_relay() -> None:
        with transaction.atomic():
            list(OutboxMessage.objects.select_for_update().filter(pk=held.pk))
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    assert locked.wait(10)
    try:
        # when this relay runs
        started = time.monotonic()
        report = outbox_relay()
        elapsed = time.monotonic() - started
    finally:
        release.set()
        thread.join()

    # then it took the free row at once and left the held one alone
    assert elapsed < 2
    assert report.sent == 1
    assert recorded == [{"n": "free"}]
    held.refresh_from_db()
    assert held.status == OutboxStatus.PENDING and held.attempts == 0


@pytest.mark.django_db
def test_purge_deletes_old_sent_rows_only() -> None:
    old = timezone.now() - timedelta(days=8)
    OutboxMessage.objects.create(topic="tests.record", payload={}, status=OutboxStatus.SENT, sent_at=old)
    recent = OutboxMessage.objects.create(
        topic="tests.record", payload={}, status=OutboxStatus.SENT, sent_at=timezone.now()
    )
    failed = OutboxMessage.objects.create(topic="tests.record", payload={}, status=OutboxStatus.FAILED)
    pending = OutboxMessage.objects.create(topic="tests.record", payload={}, created_at=old)

    assert outbox_purge_sent(older_than=timedelta(days=7)) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, failed.pk, pending.pk}
