"""vaultcore.gunicorn_logging: gunicorn's access log (as gunicorn.conf.py runs it) never records a
token from a URL; vaultcore.log_context does the same for every other log line."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from vaultcore.log_context import redact_secrets

ROOT = Path(__file__).resolve().parents[2]
SECRET = "eyJzZWNyZXQiOiJ5ZXMifQ.c2lnbmF0dXJl"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gunicorn_access_log_redacts_tokens_in_urls(tmp_path: Path) -> None:
    # given gunicorn with the production configuration, logging access to a file
    port, access_log = _free_port(), tmp_path / "access.log"
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}
    env.update({"GUNICORN_ACCESSLOG": str(access_log), "GUNICORN_LOGLEVEL": "warning"})
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "vaultcore.tests.pid_app:application",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/auth/verify-email/?token={SECRET}&lang=en",
                    headers={"Referer": f"https://mail.example/?token={SECRET}", "X-Request-ID": "req-plain-3"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    assert response.status == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    # then the request is logged, without the token
    logged = access_log.read_text()
    assert "/api/v1/auth/verify-email/?token=[redacted]&lang=en" in logged
    assert logged.rstrip().endswith("[req-plain-3]")
    assert SECRET not in logged


def test_log_lines_from_django_redact_tokens() -> None:
    # given the configured console handler (runserver logs request lines through django.server)
    handler = logging.getLogger("django.server").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        # when runserver logs a request line with a reset token
        logging.getLogger("django.server").info('"%s" %s %s', f"GET /x/?token={SECRET} HTTP/1.1", 200, 12)
    finally:
        handler.setStream(previous)
    # then
    assert "?token=[redacted] HTTP/1.1" in stream.getvalue()
    assert SECRET not in stream.getvalue()


def test_redaction_keeps_everything_but_secret_values() -> None:
    assert (
        redact_secrets("/a?refresh_token=x&b=2&password=p#f") == "/a?refresh_token=[redacted]&b=2&password=[redacted]#f"
    )
    assert redact_secrets("token_type=Bearer idempotency key=k") == "token_type=Bearer idempotency key=k"


def test_gunicorn_logs_json_lines_with_the_request_id(tmp_path: Path) -> None:
    # given gunicorn with the production configuration and LOG_FORMAT=json
    port, access_log = _free_port(), tmp_path / "access.log"
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1", "LOG_FORMAT": "json"}
    env.update({"GUNICORN_ACCESSLOG": str(access_log), "GUNICORN_LOGLEVEL": "info"})
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "vaultcore.tests.pid_app:application",
    ]
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/auth/confirm-email/?token={SECRET}",
                    headers={"X-Request-ID": "req-json-7", "User-Agent": "probe/1"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    assert response.status == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    # then every access line is a JSON object in the app's format, with the request id and no token
    access = [json.loads(line) for line in access_log.read_text().splitlines() if line.strip()]
    hit = next(line for line in access if line["request_id"] == "req-json-7")
    assert hit["logger"] == "gunicorn.access" and hit["level"] == "INFO"
    assert hit["status"] == 200 and hit["method"] == "GET" and hit["user_agent"] == "probe/1"
    assert hit["path"] == "/api/v1/auth/confirm-email/?token=[redacted]"
    assert {"time", "message", "trace_id", "duration_ms"} <= hit.keys()
    assert SECRET not in access_log.read_text()
    # and gunicorn's own lines (start-up, workers) are JSON too
    own = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert any("Booting worker" in line["message"] for line in own)
    assert all(line["logger"] == "gunicorn.error" and "request_id" in line for line in own)
