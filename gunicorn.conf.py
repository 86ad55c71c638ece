"""gunicorn configuration (read automatically from the working directory; flags on the command
line win). Every value can be overridden with a ``GUNICORN_*`` variable.

Sizing, measured with ``make bench`` (bench/RESULTS.md): a transfer request spends most of its
time in Python (CPU) and a small part waiting for PostgreSQL, so processes — not threads — are
what scales on N cores, and one thread per process is the cheapest way to run them.
- ``workers``: one per core plus one by default (``GUNICORN_WORKERS``): the extra process keeps
  the cores busy while another waits for the database. With the database on another host each
  request waits longer per round trip: raise it towards 2 per core.
- ``threads``: 1 per worker (``GUNICORN_THREADS``). On the 2-core machine with PostgreSQL beside
  the server, 32 keep-alive clients, 8-second runs interleaved over the three traffic shapes
  (bench/RESULTS.md, step 18): 3x1 averaged 499 transfers/s with a median p99 of 96 ms (24 runs),
  2x1 472/s and 98 ms (24), 4x1 497/s and 102 ms, 2x2 450/s and 107 ms, the former 4x2 424/s and
  119 ms (no run under 100 ms in 15); a request cost 2.6 ms of worker CPU against 3.2 ms with 4x2
  — a second thread in a process hands the interpreter lock back and forth on every database
  round trip, and more transactions in flight make PostgreSQL's share dearer too (1.1 against
  1.4 ms per request). Raise it when a deployment spends request time waiting on the network
  (creating a Stripe deposit calls Stripe while the client waits): workers x threads is how many
  such calls can be in flight at once.
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
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
threads = _int("GUNICORN_THREADS", 1)
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
# Access-log lines never carry a usable token from a URL (email links put it in ``token=``).
logger_class = "vaultcore.gunicorn_logging.RedactingLogger"
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
