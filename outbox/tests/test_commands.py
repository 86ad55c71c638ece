"""``manage.py relay_outbox``: --once relays what is due and exits; without it, it keeps relaying."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from outbox.models import OutboxMessage, OutboxStatus


@pytest.mark.django_db
def test_relay_once_delivers_due_rows_and_exits_0(recorded: list[dict[str, Any]]) -> None:
    # given rows left pending (e.g. written while the broker was down)
    OutboxMessage.objects.create(topic="tests.record", payload={"n": 1})
    OutboxMessage.objects.create(topic="tests.record", payload={"n": 2})
    out = StringIO()

    # when
    call_command("relay_outbox", "--once", "--json", stdout=out)

    # then (no broker here: delivered in-process)
    assert json.loads(out.getvalue()) == {"sent": 2, "retrying": 0, "failed": 0, "broker_down": False}
    assert sorted(call["n"] for call in recorded) == [1, 2]


@pytest.mark.django_db
def test_dry_run_counts_due_rows_and_relays_nothing(recorded: list[dict[str, Any]]) -> None:
    OutboxMessage.objects.create(topic="tests.record", payload={})
    out = StringIO()

    call_command("relay_outbox", "--dry-run", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"due": 1}
    assert recorded == []
    assert OutboxMessage.objects.get().status == OutboxStatus.PENDING


@pytest.mark.django_db
def test_relay_once_exits_1_when_rows_are_left_for_later() -> None:
    OutboxMessage.objects.create(topic="tests.unregistered", payload={})
    out = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("relay_outbox", "--once", stdout=out)

    assert exited.value.code == 1
    assert "0 sent, 0 retrying, 1 failed" in out.getvalue()


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_relay_without_once_keeps_relaying_until_stopped() -> None:
    # given the relay running as a process (no broker: it delivers in-process)
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "vaultcore.settings_test"}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "relay_outbox", "--interval", "0.2"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # when a row of an unknown topic shows up later (the handler-free way to see it relayed)
        time.sleep(1)
        message = OutboxMessage.objects.create(topic="tests.unregistered-in-that-process", payload={})
        deadline = time.monotonic() + 30
        while message.status == OutboxStatus.PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
            message.refresh_from_db()
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)

    # then the running relay picked it up, and SIGTERM stopped it cleanly
    assert message.status == OutboxStatus.FAILED, output
    assert message.attempts == 1
    assert proc.returncode == 0, output
