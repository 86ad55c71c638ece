"""gunicorn configuration (read automatically from the working directory; flags on the command
line win). Every value can be overridden with a ``GUNICORN_*`` variable.

Sizing, measured with ``make bench`` (bench/RESULTS.md): a transfer request spends most of its
time in Python (CPU) and a small part waiting for PostgreSQL, so processes — not threads — are
what scales on N cores; a couple of threads per process cover the database waits.
- ``workers``: 2 per core by default (``GUNICORN_WORKERS``). With PostgreSQL on the same machine
  the database takes a share of the same cores.
- ``threads``: 2 per worker (``GUNICORN_THREADS``). On the 2-core machine, 32 keep-alive clients:
  4x2 p99 82-107 ms, 4x4 121-130 ms, 3x4 109-119 ms at the same throughput — more threads per
  process only queue more requests behind one interpreter lock. Raise it when a deployment spends
  request time waiting on the network (creating a Stripe deposit calls Stripe while the client
  waits): workers x threads is how many such calls can be in flight at once.
- ``worker_class``: gthread with keep-alive connections spread evenly over the workers
  (vaultcore/gunicorn_workers.py; plain gthread left 30 of 32 connections on one worker).
- Database connections: workers x threads persistent connections (``DB_CONN_MAX_AGE``); keep it
  under PostgreSQL's ``max_connections`` or put PgBouncer in front (transaction pooling, with
  ``DB_CONN_MAX_AGE=0``; see README "Production").
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count())
threads = _int("GUNICORN_THREADS", 2)
# gthread that spreads keep-alive connections evenly over the workers (vaultcore/gunicorn_workers.py).
worker_class = "vaultcore.gunicorn_workers.BalancedThreadWorker"
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


# Server hooks of the balanced worker: the master keeps the shared table of connection counts.
def on_starting(server: Any) -> None:
    from vaultcore import gunicorn_workers

    gunicorn_workers.on_starting(server)


def pre_fork(server: Any, worker: Any) -> None:
    from vaultcore import gunicorn_workers

    gunicorn_workers.pre_fork(server, worker)


def child_exit(server: Any, worker: Any) -> None:
    from vaultcore import gunicorn_workers

    gunicorn_workers.child_exit(server, worker)
