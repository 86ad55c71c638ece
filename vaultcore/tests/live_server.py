"""Real server processes for tests that check the app from outside, over a socket."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_env(password: str = "") -> dict[str, str]:
    """DATABASE_URL of the database this test uses (the test database under ``db``).

    A socket directory (the embedded PostgreSQL) cannot be written as a URL host, so it goes to
    libpq's PGHOST/PGPORT and the URL names no host.
    """
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres", safe="") + (":" + quote(password, safe="") if password else "")
    host, port = str(db["HOST"] or "127.0.0.1"), str(db["PORT"] or "")
    if host.startswith("/"):
        env = {"PGHOST": host, **({"PGPORT": port} if port else {})}
        return {**env, "DATABASE_URL": f"postgres://{auth}@/{db['NAME']}"}
    return {"DATABASE_URL": f"postgres://{auth}@{host}{':' + port if port else ''}/{db['NAME']}"}


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without test-only settings, plus ``extra``."""
    drop = ("PYTEST", "DJANGO_SETTINGS_MODULE", "REDIS_URL", "DEBUG", "SECURE_", "GUNICORN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update({"DJANGO_SETTINGS_MODULE": "vaultcore.settings", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


@contextmanager
def running(argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """Start ``python argv`` and wait until it answers HTTP on ``port``; stop it afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, *argv], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while not _answers(port):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not start: " + log.read_text()
                time.sleep(0.1)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def request(
    port: int, method: str, path: str, *, host: str = "127.0.0.1", body: str | None = None
) -> tuple[int, dict[str, str], str]:
    """One HTTP request on a new connection: (status, headers with lower-case names, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": host}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


def redis_argv(port: int) -> list[str]:
    """A throwaway Redis of the test's own on ``port`` (loopback only, nothing saved to disk)."""
    return [REDIS_SERVER or "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (its output appended to ``log``) and stop it afterwards, whatever happened."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(check: Callable[[], object], what: str, logs: list[Path], timeout: float = 60) -> None:
    """Poll ``check`` until it is truthy; on timeout fail with the tail of each log."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            details = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
            raise AssertionError(f"timed out waiting for {what}\n{details}")
        time.sleep(0.2)
