"""Embedded PostgreSQL for machines where no DATABASE_URL is configured.

`pgserver` ships real PostgreSQL binaries in its wheel. The server keeps its data in a
git-ignored folder (``.vaultcore/pgdata`` by default), listens only on a Unix socket, and keeps
running after the process that started it exits, so every `manage.py` call, the autoreloader's
children and the test runner share one server. It is never used in production: settings refuse
to start without DATABASE_URL when DEBUG is off (unless ALLOW_EMBEDDED_POSTGRES is set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

DATABASE_NAME = "vaultcore"


def embedded_database_config(data_dir: Path) -> dict[str, Any]:
    """Start (or reuse) the embedded server and return a Django DATABASES entry for it."""
    import warnings

    import psycopg

    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver then uses /tmp.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    import pgserver  # imported lazily: only needed when DATABASE_URL is unset

    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: leave the server running for the next command; `make db-stop` stops it.
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    uri = urlparse(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    user = uri.username or "postgres"

    with psycopg.connect(host=socket_dir, user=user, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": user,
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }
