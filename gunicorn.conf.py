"""gunicorn configuration (read automatically from the working directory; flags on the command
line win). Every value can be overridden with a ``GUNICORN_*`` variable.

Sizing, measured with ``make bench`` (see bench/RESULTS.md): a transfer request spends most of
its time in Python (CPU) and a small part waiting for PostgreSQL, so processes — not threads —
are what scales on N cores; a few threads per process cover the database waits.
- ``workers``: 2 per core by default (``GUNICORN_WORKERS``). With PostgreSQL on the same machine
  the database takes a share of the same cores.
- ``threads``: 4 per worker (``GUNICORN_THREADS``), gthread worker class.
- Database connections: workers x threads persistent connections (``DB_CONN_MAX_AGE``); keep it
  under PostgreSQL's ``max_connections`` or put PgBouncer in front (transaction pooling, with
  ``DB_CONN_MAX_AGE=0``; see README "Production").
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count())
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# Requests are short; a stuck one is killed and its worker replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
# Behind a load balancer with keep-alive connections.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (bounded memory growth), with jitter so they do not restart together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
# Load the app in the master once, then fork (faster start, shared memory). Database connections
# are opened lazily per thread after the fork, never shared between processes.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
