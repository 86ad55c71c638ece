"""What the CI's live-server checks share (schemathesis.py, prometheus_check.py,
image_runtime_check.py): a throwaway database, the production settings of a server on loopback,
gunicorn started and stopped as a process group, and small JSON-over-HTTP helpers."""

# The commands and URLs below are the checks' own (loopback servers, this repository's code).
# ruff: noqa: S603, S310

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEMO_PASSWORD = "vaultcore-demo-password"  # noqa: S105 - seed_demo's public demo password


def log(message: str) -> None:
    print(f"--> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_urls(name: str) -> tuple[str, str]:
    """(the server's admin URL, from DATABASE_URL or the local PostgreSQL; the URL of ``name`` on it)."""
    server = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    return server, urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def recreate_database(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def production_env(database_url: str, *, label: str, **extra: str) -> dict[str, str]:
    """The environment of a server with production settings (DEBUG off) on loopback: fresh
    secrets, the sandbox payment provider, no rate limits, no REDIS_URL (Celery runs tasks
    in-process, so nothing is queued on a shared broker), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "vaultcore.settings",
            "DEBUG": "False",
            "SECRET_KEY": f"{label}-" + secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "PAYMENTS_PROVIDER": "sandbox",
            "ALLOW_SANDBOX_PROVIDER": "True",
            "THROTTLE_USER_RATE": "off",
            "THROTTLE_AUTH_RATE": "off",
            # Plain HTTP on loopback (TLS is a proxy's job in production).
            "SECURE_SSL_REDIRECT": "False",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            # Webhook signatures are verified (a bad one is a 400), as in production.
            "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
            "ENCRYPTION_KEYS": f"{label}-1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """``manage.py`` with ``args`` in ``env``; its output, or an error with it."""
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_process(command: list[str], env: dict[str, str] | None, log_path: Path) -> subprocess.Popen[bytes]:
    """``command`` in its own process group (so stopping it stops its children), output to ``log_path``."""
    with log_path.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def start_gunicorn(
    env: dict[str, str], log_path: Path, *, workers: int = 2, port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with the repository's gunicorn.conf.py on ``port`` (default: a spare one), once
    /healthz answers 200; the process and its base URL."""
    port = port or free_port()
    proc = start_process(
        [PY, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "vaultcore.wsgi:application"],
        {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESSLOG": ""},
        log_path,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return proc, base
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError(f"gunicorn did not answer /healthz within 60 s; see {log_path}")
        time.sleep(0.2)


def http_json(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """GET ``url`` (POST ``body`` when given) as JSON, with a bearer ``token``; the decoded answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def access_token(base: str, username: str) -> str:
    """An access token of a ``seed_demo`` user."""
    return str(http_json(f"{base}/api/v1/auth/token/", {"username": username, "password": DEMO_PASSWORD})["access"])
