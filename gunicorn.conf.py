"""gunicorn configuration (read from the working directory; command-line flags win). Every value
can be overridden with a ``GUNICORN_*`` variable. Production runs it behind a reverse proxy that
handles TLS, keep-alive and slow clients (README "Production", deploy/nginx.conf); the sizing
below was chosen with ``make bench`` (docs/performance.md)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import tempfile
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Metrics in prometheus_client's multiprocess mode: every worker writes its counters to files in
# this folder and /metrics adds them all up (vaultcore/metrics.py). Set it to an empty folder (a
# tmpfs volume, never shared with another container: files are named by pid); unset, a fresh one
# is made here.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vaultcore-metrics-")

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# A request is mostly Python CPU: one process per core, plus one to cover database waits.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
# Only for gthread: raise it when requests wait on the network (a deposit calls Stripe).
threads = _int("GUNICORN_THREADS", 1)
# Requests are short; a stuck one is killed and its worker replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
# Keep-alive towards the proxy (gthread only: sync workers close each connection).
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (bounded memory growth), with jitter so they do not restart together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
# Load the app once in the master, then fork. Database connections open lazily in each worker.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
# Access-log lines never carry a usable token from a URL (email links put it in ``token=``).
# With LOG_FORMAT=json it writes gunicorn's lines and the access log in the app's JSON format.
logger_class = "vaultcore.gunicorn_logging.RedactingLogger"
# Plain access lines: the combined format, the duration and the request id the app answered with.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms [%({x-request-id}o)s]'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def on_starting(server: Any) -> None:
    """Import in the master what the first request would (the URLconf, hence every view)."""
    from django.apps import apps
    from django.urls import get_resolver

    if server.cfg.preload_app and apps.ready:
        get_resolver().url_patterns  # noqa: B018 - the import is the point


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: drop its live gauges from /metrics (its counters are kept and still summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def pre_fork(server: Any, worker: Any) -> None:
    """Leave the preloaded objects out of the workers' garbage collections (the ``gc.freeze``
    pattern for pre-forking servers): no long first collections in every worker."""
    gc.freeze()
