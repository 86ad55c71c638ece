"""vaultcore.gunicorn_workers: keep-alive connections spread evenly over gunicorn's workers.

The shared table and the accept rule are tested directly; the worker itself runs in a real
gunicorn (gunicorn.conf.py, as in production) serving a tiny WSGI app that answers with its pid,
so each test sees which worker holds each keep-alive connection.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vaultcore import gunicorn_workers
from vaultcore.gunicorn_workers import STALE_AFTER, ConnectionTable, should_accept

ROOT = Path(__file__).resolve().parents[2]


# --- the rule and the table ------------------------------------------------------------------


def test_a_worker_accepts_while_it_holds_no_more_than_the_least_loaded_live_worker() -> None:
    assert should_accept(3, 3)
    assert should_accept(2, 3)  # cannot happen for the least itself, but never refuse then
    assert not should_accept(4, 3)
    assert should_accept(7, None)  # nobody to compare with: behave like gthread


def test_the_table_compares_live_workers_only() -> None:
    table = ConnectionTable.create(slots=4)
    a, b, c = table.claim(), table.claim(), table.claim()
    assert (a, b, c) == (0, 1, 2)
    assert a is not None and b is not None and c is not None
    now = 1000.0
    assert table.least_connections(now) is None  # claimed but not reported yet: not live

    table.report(a, 5, now)
    table.report(b, 2, now)
    table.report(c, 9, now)
    assert table.least_connections(now) == 2

    # b stops reporting (hung or killed without the master noticing yet): left out when stale
    table.report(a, 5, now + STALE_AFTER + 1)
    table.report(c, 9, now + STALE_AFTER + 1)
    assert table.least_connections(now + STALE_AFTER + 1) == 5

    # a worker that exits frees its slot, and the next fork reuses it
    table.release(a)
    assert table.least_connections(now + STALE_AFTER + 1) == 9
    assert table.claim() == a
    assert table.claim() == 3
    assert table.claim() is None  # full: that worker falls back to plain gthread


def test_without_the_master_hooks_the_worker_behaves_like_gthread(monkeypatch) -> None:
    monkeypatch.setattr(gunicorn_workers, "_table", None)
    worker = gunicorn_workers.BalancedThreadWorker.__new__(gunicorn_workers.BalancedThreadWorker)
    worker.nr_conns = 50
    assert worker._balanced()


# --- the worker in a real gunicorn -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _gunicorn(tmp_path: Path, *, workers: int, worker_class: str | None = None) -> Iterator[tuple[int, int]]:
    """gunicorn with gunicorn.conf.py serving pid_app; yields (port, master pid)."""
    port = _free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    env.update({"GUNICORN_THREADS": "2", "GUNICORN_ACCESSLOG": "", "GUNICORN_LOGLEVEL": "warning"})
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
    if worker_class:
        argv += ["--worker-class", worker_class]
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [*argv, "vaultcore.tests.pid_app:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while len(_worker_pids(proc.pid)) < workers or not _answers(port):
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _worker_pids(master: int) -> set[int]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return set()
    return {int(pid) for pid in children}


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _ask(sock: socket.socket) -> int:
    """One keep-alive request; the pid of the worker that answered."""
    sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
        chunk = sock.recv(4096)
        assert chunk, "connection closed by the server"
        data += chunk
    return int(data.split(b"\r\n\r\n", 1)[1])


def _open(port: int, count: int) -> list[socket.socket]:
    """``count`` connections opened at once (as a client pool or load generator does)."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(count)]
    return socks


def _owners(socks: list[socket.socket]) -> Counter[int]:
    return Counter(_ask(sock) for sock in socks)


def test_keep_alive_connections_are_spread_evenly_over_the_workers(tmp_path: Path) -> None:
    with _gunicorn(tmp_path, workers=4) as (port, master):
        socks = _open(port, 32)
        try:
            owners = _owners(socks)
            # every connection is served, by one of the workers, and none holds more than its share + 1
            assert sum(owners.values()) == 32
            assert set(owners) <= _worker_pids(master)
            assert len(owners) == 4, owners
            assert max(owners.values()) - min(owners.values()) <= 2, owners
            # the connections stay where they are: asking again lands on the same workers
            assert _owners(socks) == owners
        finally:
            for sock in socks:
                sock.close()


def test_a_hung_worker_does_not_stop_the_others_from_accepting(tmp_path: Path) -> None:
    with _gunicorn(tmp_path, workers=2) as (port, _master):
        first = _open(port, 4)
        hung = None
        try:
            owners = _owners(first)
            assert sorted(owners.values()) == [2, 2], owners
            hung = next(iter(owners))
            os.kill(hung, signal.SIGSTOP)  # holds the fewest connections (a tie) and stops reporting
            started = time.monotonic()
            more = _open(port, 4)
            try:
                others = _owners(more)
                assert set(others) == set(owners) - {hung}  # all taken by the live worker
                assert time.monotonic() - started < STALE_AFTER + 5
            finally:
                for sock in more:
                    sock.close()
        finally:
            if hung is not None:
                os.kill(hung, signal.SIGCONT)
            for sock in first:
                sock.close()


def test_new_connections_are_answered_promptly_while_the_old_ones_idle(tmp_path: Path) -> None:
    # A worker that left the listener to the others may become the least loaded while its own
    # connections are idle: it must notice without waiting for an event of its own (gunicorn's
    # loop would otherwise sleep up to a second per turn).
    with _gunicorn(tmp_path, workers=2) as (port, _master):
        socks = _open(port, 2)
        try:
            _owners(socks)
            slowest = 0.0
            for _ in range(8):
                started = time.monotonic()
                sock = socket.create_connection(("127.0.0.1", port), timeout=15)
                socks.append(sock)
                _ask(sock)
                slowest = max(slowest, time.monotonic() - started)
            owners = _owners(socks)
            assert sorted(owners.values()) == [5, 5], owners
            assert slowest < 0.5, f"a new connection waited {slowest:.2f} s"
        finally:
            for sock in socks:
                sock.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_every_connection_is_answered_whatever_the_worker_count(tmp_path: Path, workers: int) -> None:
    with _gunicorn(tmp_path, workers=workers) as (port, _master):
        socks = _open(port, 10)
        try:
            owners = _owners(socks)
            assert sum(owners.values()) == 10
            assert max(owners.values()) - min(owners.values()) <= 2, owners
        finally:
            for sock in socks:
                sock.close()


def test_the_master_freezes_the_preloaded_application_before_each_fork(monkeypatch) -> None:
    monkeypatch.setattr(gunicorn_workers, "_table", ConnectionTable.create(slots=2))

    class Worker:
        connection_slot: int | None = None

    gc.unfreeze()
    try:
        worker = Worker()
        gunicorn_workers.pre_fork(server=None, worker=worker)
        assert worker.connection_slot == 0
        assert gc.get_freeze_count() > 10_000  # this test process's objects, like the master's app
    finally:
        gc.unfreeze()
