"""vaultcore.celery: `make worker` / `make beat` start in development like `make run`, and Celery
logs through the project's logging (one JSON format, a request id on task lines)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from celery import Celery

from vaultcore.celery import REQUEST_ID_HEADER, _drop_request_id, _send_request_id, _take_request_id
from vaultcore.log_context import request_id_var

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
# What only production needs, and what the test run sets: none of it may be needed in development.
_DROP = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "ENCRYPTION_KEYS", "STRIPE_", "DJANGO_SETTINGS_MODULE", "PYTEST")


def _development_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
    env.update({"LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **extra})
    return env


def _reader(stream: IO[bytes], lines: queue.Queue[str]) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode(errors="replace").rstrip("\n"))


@contextmanager
def _make(target: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], queue.Queue[str]]]:
    """``make <target>`` with this test run's virtual environment (never reinstalled here)."""
    argv = ["make", "--no-print-directory", "-o", f"{VENV}/.runtime-installed", target, f"VENV={VENV}"]
    proc = subprocess.Popen(  # noqa: S603 - make and its own target
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    threading.Thread(target=_reader, args=(proc.stderr, lines), daemon=True).start()
    try:
        yield proc, lines
    finally:
        # make runs celery in a child: stop the process group this test started, and wait for it.
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                os.killpg(proc.pid, 0)
                time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_for(lines: queue.Queue[str], seen: list[str], predicate: Callable[[str], bool], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if predicate(line):
            return line
    raise AssertionError("not logged; output was:\n" + "\n".join(seen))


def _json(line: str) -> dict[str, object]:
    record = json.loads(line)
    assert isinstance(record, dict), line
    return record


@pytest.mark.slow
def test_make_worker_starts_without_production_secrets_and_logs_json() -> None:
    # given a development shell: no DEBUG, no SECRET_KEY or other production secret
    env = _development_env()
    seen: list[str] = []
    with _make("worker", env) as (proc, lines):
        # when `make worker` runs, then the worker comes up (it used to die: SECRET_KEY is not set)
        ready = _wait_for(lines, seen, lambda line: "ready." in line)
        assert _json(ready)["logger"] == "celery.apps.worker"
        if env.get("REDIS_URL"):
            # and a task queued during a request logs its end with that request's id
            app = Celery(broker=env["REDIS_URL"])
            app.conf.broker_connection_retry_on_startup = True
            token = request_id_var.set("req-queued-9")
            try:
                app.send_task("celery.accumulate", args=(7,))
            finally:
                request_id_var.reset(token)
            done = _wait_for(lines, seen, lambda line: "succeeded" in line and "celery.accumulate" in line)
            assert _json(done)["request_id"] == "req-queued-9"
            # the worker's "received" line, outside the task's run, carries the task id
            received = next(_json(line) for line in seen if "received" in line and "celery.accumulate" in line)
            assert received["request_id"] == received["data"]["id"]  # type: ignore[index]
        assert proc.poll() is None
    # every line Celery wrote is one JSON object in the app's format
    records = [_json(line) for line in seen if line.strip()]
    assert all({"time", "level", "logger", "request_id", "trace_id", "message"} <= r.keys() for r in records)
    assert "SECRET_KEY is not set" not in "\n".join(seen)


@pytest.mark.slow
def test_make_beat_starts_without_production_secrets() -> None:
    # given a development shell without a broker (beat sends nothing anywhere real)
    env = _development_env()
    env.pop("REDIS_URL", None)
    seen: list[str] = []
    with _make("beat", env) as (proc, lines):
        started = _wait_for(lines, seen, lambda line: "beat: Starting" in line)
        assert _json(started)["level"] == "INFO"
        assert proc.poll() is None


class _Request:
    id = "task-1"


class _Task:
    def __init__(self, **attrs: str) -> None:
        self.request = _Request()
        for key, value in attrs.items():
            setattr(self.request, key, value)


def test_a_task_queued_during_a_request_carries_its_id() -> None:
    headers: dict[str, str] = {}
    token = request_id_var.set("req-5")
    try:
        _send_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {REQUEST_ID_HEADER: "req-5"}
    # and outside a request, no header
    empty: dict[str, str] = {}
    _send_request_id(headers=empty)
    assert empty == {}


def test_a_worker_logs_a_task_with_its_request_id_else_the_task_id() -> None:
    for task, expected in ((_Task(**{REQUEST_ID_HEADER: "req-6"}), "req-6"), (_Task(), "task-1")):
        _take_request_id(task_id="task-1", task=task)
        assert request_id_var.get() == expected
        _drop_request_id(task=task)
        assert request_id_var.get() == "-"


def test_a_task_run_eagerly_inside_a_request_keeps_the_request_id() -> None:
    token = request_id_var.set("req-eager")
    try:
        task = _Task()
        _take_request_id(task_id="task-1", task=task)
        assert request_id_var.get() == "req-eager"
        _drop_request_id(task=task)
        assert request_id_var.get() == "req-eager"
    finally:
        request_id_var.reset(token)
