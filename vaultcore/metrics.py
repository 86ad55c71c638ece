"""Prometheus metrics: every metric VaultCore exports is declared here, in one place.

Two kinds:

* **Counters and histograms** that the code bumps as things happen (HTTP requests, database
  queries, cache look-ups, transactions posted, idempotent replays, ...). With
  ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py sets one when missing) every process writes
  them to files in that folder and ``/metrics`` adds up all processes: each gunicorn worker
  counts. A Celery worker serves its own (``CELERY_WORKER_METRICS_BIND``). Business counters are bumped *after commit*
  (:func:`count_after_commit`), so work that rolled back is never counted.
* **Gauges read from the database at scrape time**: each app registers a small function that
  runs one aggregated query and yields metric families (``<app>/metrics.py``, registered in its
  ``AppConfig.ready``). They run in the process serving the scrape, so nothing is summed across
  processes and nothing can drift; a failing one is reported as
  ``vaultcore_scrape_collector_up{collector="..."} 0`` instead of failing the scrape.

``/metrics`` answers only with ``Authorization: Bearer <METRICS_TOKEN>`` or from an address in
``METRICS_ALLOWED_IPS``; anything else gets the contract's 404.

This module imports no app: apps import it.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cache, partial
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vaultcore.errors import json_error

logger = logging.getLogger("vaultcore.metrics")

# Decided once, when prometheus_client decides how its values are stored (on its import).
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# --- HTTP, database, cache ----------------------------------------------------------------------
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "vaultcore_http_requests",
    "HTTP requests by URL route (the pattern, never the raw path), method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "vaultcore_http_request_duration_seconds",
    "Time from the first middleware to the response, by URL route and method.",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
DB_QUERIES = Counter(
    "vaultcore_db_queries",
    "SQL statements executed, by database alias and outcome (ok or error).",
    ["alias", "outcome"],
)
DB_LATENCY = Histogram(
    "vaultcore_db_query_duration_seconds",
    "Time of one SQL statement, by database alias.",
    ["alias"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
CACHE_REQUESTS = Counter(
    "vaultcore_cache_requests",
    "Cache operations by operation (get, set, add, incr, delete, ...) and result (hit, miss, ok, error).",
    ["operation", "result"],
)

# --- Business -------------------------------------------------------------------------------------
TRANSACTIONS_POSTED = Counter(
    "vaultcore_transactions_posted",
    "Ledger transactions posted (committed), by type and currency.",
    ["type", "currency"],
)
MONEY_MOVED = Counter(
    "vaultcore_money_moved",
    "Sum of the amounts of posted transactions, in major units of the currency (a monitoring "
    "approximation; the ledger is the record), by type and currency.",
    ["type", "currency"],
)
IDEMPOTENT_REPLAYS = Counter(
    "vaultcore_idempotent_replays",
    "Requests answered from a recorded Idempotency-Key outcome instead of running again, by operation.",
    ["operation"],
)
OUTBOX_RELAYED = Counter(
    "vaultcore_outbox_relayed",
    "Outbox rows handed to their task, by topic and outcome (sent, retrying, failed).",
    ["topic", "outcome"],
)
# Webhook deliveries (the events/webhooks feature bumps this through webhook_delivery_record, after
# the delivery attempt's row is committed): outcome is delivered, retrying or failed.
WEBHOOK_DELIVERIES = Counter(
    "vaultcore_webhook_deliveries",
    "Outgoing webhook delivery attempts, by outcome (delivered, retrying, failed).",
    ["outcome"],
)


def count_after_commit(counter: Counter, labels: Sequence[str], amount: float = 1.0) -> None:
    """Bump ``counter`` once the current transaction commits (at once outside one); nothing is
    counted when it rolls back."""
    transaction.on_commit(partial(_inc, counter, tuple(labels), amount))


def _inc(counter: Counter, labels: tuple[str, ...], amount: float) -> None:
    counter.labels(*labels).inc(amount)


def transactions_posted_record(posted: Iterable[tuple[str, str, Decimal]]) -> None:
    """Count ``(type, currency, amount)`` of transactions posted in the current transaction, after
    it commits."""
    items = list(posted)
    if items:
        transaction.on_commit(partial(_transactions_posted, items))


def _transactions_posted(items: list[tuple[str, str, Decimal]]) -> None:
    for txn_type, currency, amount in items:
        TRANSACTIONS_POSTED.labels(txn_type, currency).inc()
        MONEY_MOVED.labels(txn_type, currency).inc(float(amount))


def webhook_delivery_record(*, outcome: str) -> None:
    """One webhook delivery attempt ended with ``outcome`` (delivered, retrying, failed); counted
    after commit."""
    count_after_commit(WEBHOOK_DELIVERIES, [outcome])


# --- Gauges computed at scrape time ---------------------------------------------------------------
ScrapeCollector = Callable[[], Iterable[Any]]
_SCRAPE_COLLECTORS: dict[str, ScrapeCollector] = {}


def scrape_collector_register(name: str, collect: ScrapeCollector) -> None:
    """Run ``collect()`` on every scrape; it yields prometheus_client metric families (e.g.
    ``GaugeMetricFamily``) from a few aggregated queries."""
    _SCRAPE_COLLECTORS[name] = collect


class _DatabaseGauges(Collector):
    """The registered scrape-time collectors; one that raises is reported, not fatal."""

    def collect(self) -> Iterable[Any]:
        up = GaugeMetricFamily(
            "vaultcore_scrape_collector_up",
            "1 when the scrape-time collector's queries succeeded on this scrape, else 0.",
            labels=["collector"],
        )
        duration = GaugeMetricFamily(
            "vaultcore_scrape_collector_duration_seconds",
            "Time the scrape-time collector took on this scrape.",
            labels=["collector"],
        )
        for name, collect in sorted(_SCRAPE_COLLECTORS.items()):
            started = time.perf_counter()
            try:
                families = list(collect())
            except Exception as exc:
                logger.warning("metrics collector %s failed: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
            else:
                yield from families
                up.add_metric([name], 1)
            duration.add_metric([name], time.perf_counter() - started)
        yield up
        yield duration


def metrics_render(*, database_gauges: bool = True) -> bytes:
    """The exposition text: every process's counters (multiprocess mode) or this process's, plus
    (unless ``database_gauges`` is off: a Celery worker's own endpoint) the scrape-time gauges."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    if not database_gauges:
        return output
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_DatabaseGauges())
    return output + generate_latest(gauges)


# The classic text format, which every Prometheus version parses (the names are all plain ASCII).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


# --- Access ----------------------------------------------------------------------------------------
@cache
def _allowed_networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def metrics_access_allowed(request: HttpRequest) -> bool:
    """``Authorization: Bearer <METRICS_TOKEN>`` (compared in constant time), or a client address
    (``REMOTE_ADDR``: the peer, never a forwarded header) inside ``METRICS_ALLOWED_IPS``."""
    return _access_allowed(request.META.get("HTTP_AUTHORIZATION", ""), request.META.get("REMOTE_ADDR", ""))


def _access_allowed(header: str, remote_addr: str) -> bool:
    token: str = settings.METRICS_TOKEN
    if (
        token
        and header.startswith("Bearer ")
        and hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())
    ):
        return True
    networks = _allowed_networks(tuple(settings.METRICS_ALLOWED_IPS))
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in networks)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: Prometheus text format for a scraper that may see it, else 404 (the endpoint
    is not advertised)."""
    if request.method not in ("GET", "HEAD") or not metrics_access_allowed(request):
        return json_error(404, "not_found", "Not found.")
    response = HttpResponse(metrics_render(), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


# --- A Celery worker's own endpoint --------------------------------------------------------------
class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def worker_metrics_server_start(*, host: str, port: int) -> WSGIServer:
    """Serve this Celery worker's counters (its pool processes' too, in multiprocess mode) at
    ``http://host:port/metrics``, with the same access rules as the web's ``/metrics``.

    Postings made by tasks (a Stripe-settled deposit, a paid payout) are counted in the worker, so
    Prometheus scrapes it as well; the database gauges come from the web's endpoint only."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        allowed = _access_allowed(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR", ""))
        if (
            environ.get("PATH_INFO") != "/metrics"
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or not allowed
        ):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [_NOT_FOUND]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")])
        return [metrics_render(database_gauges=False)]

    server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="vaultcore-metrics", daemon=True).start()
    logger.info("worker metrics on http://%s:%d/metrics", host, server.server_port)
    return server


_NOT_FOUND = b'{"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": null}]}'


# --- Instrumentation: HTTP middleware, database wrapper, cache backends -------------------------
class MetricsMiddleware:
    """Count every request by its URL route (``api/v1/wallets/<uuid:public_id>/``: bounded
    cardinality, no ids) and status, and time it. Unrouted paths share one label."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name or "<unnamed>") if match is not None else "<unmatched>"
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route, method).observe(elapsed)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def db_query_observer(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    """Django execute wrapper (installed on each new connection): time and count each statement."""
    alias = context["connection"].alias
    started = time.perf_counter()
    try:
        result = execute(sql, params, many, context)
    except Exception:
        DB_QUERIES.labels(alias, "error").inc()
        raise
    finally:
        DB_LATENCY.labels(alias).observe(time.perf_counter() - started)
    DB_QUERIES.labels(alias, "ok").inc()
    return result


def observe_database_queries(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver (vaultcore.apps)."""
    if db_query_observer not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, db_query_observer)
