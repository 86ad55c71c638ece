"""gunicorn's worker processes: keep-alive connections spread evenly over them, and the
preloaded application frozen out of their garbage collector.

Why: with gunicorn's ``gthread`` workers every worker polls the one listening socket and the
first to wake takes the new connection. A client that keeps its connections alive (a load
balancer's upstream pool, a mobile gateway, a load generator) is then served by whichever worker
won each race, for the whole life of the connection — measured with 32 keep-alive clients on
4 workers: 19/10/3/0 connections. Each worker gets about the same CPU, so a connection on the
crowded worker waits six times longer than one on the quiet worker: p99 188 ms at a mean of
61 ms (bench/RESULTS.md).

How: the workers publish their open-connection counts in a small shared-memory table set up by
the master (``gunicorn.conf.py`` calls :func:`on_starting`, :func:`pre_fork` and
:func:`child_exit` from gunicorn's server hooks of the same names). A worker polls the listening
socket only while it holds no more connections than the least-loaded live worker, and while it
leaves the socket to the others it looks again every :data:`RECHECK_EVERY` seconds (its own
connections may be idle, so no event of its own would wake it). Someone always accepts — the
least-loaded worker does — so no connection is refused or left waiting for long:

- a worker that stops reporting (hung, killed, not yet started) is left out of the comparison
  after :data:`STALE_AFTER` seconds, so it cannot stop the others from accepting;
- without the hooks (the class used on its own) the worker behaves exactly like ``gthread``.

Garbage collection: with ``preload_app`` the master imports Django and the whole project before
forking; each worker then inherits ~125,000 objects that its first full collections walk —
measured 100-240 ms pauses of every worker early in a run, each stalling the requests in
flight. Before forking, the master loads the URLconf (views, serializers: what the first request
would import) and calls :func:`gc.freeze`, so those objects are left out of every collection in
the workers (the pattern the ``gc`` documentation gives for pre-forking servers; it also keeps
copy-on-write pages shared). Full collections then walk ~4,000-4,400 objects: 1-4 ms (measured
with ``gc.callbacks`` in 3 single-threaded workers under 32 keep-alive clients; bench/RESULTS.md).

The worker relies on gunicorn 27's ``ThreadWorker`` event loop (``notify`` at the top of each
turn, then ``set_accept_enabled`` when ``_accepting`` differs from what it wants); the pin in
requirements.txt and vaultcore/tests/test_gunicorn_workers.py guard that.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

#: A worker whose last report is older than this is not compared with (seconds). Its event loop
#: turns at least once a second (gunicorn's poll timeout), so a live worker is never this late.
STALE_AFTER = 3.0
#: Rows of the shared table: more than any worker count (``TTIN`` can add workers at run time).
SLOTS = 128
#: While a worker leaves the listener to the others it looks again this often (seconds): it may
#: have become the least loaded without any event of its own (its connections idle).
RECHECK_EVERY = 0.01


@dataclass
class ConnectionTable:
    """Shared memory: per slot, the worker's open connections and when it last reported."""

    connections: Any  # ctypes array of c_int, -1 = free slot
    reported_at: Any  # ctypes array of c_double (time.monotonic(), shared by the forked processes)

    @classmethod
    def create(cls, slots: int = SLOTS) -> ConnectionTable:
        table = cls(
            connections=multiprocessing.RawArray(ctypes.c_int, slots),
            reported_at=multiprocessing.RawArray(ctypes.c_double, slots),
        )
        for slot in range(slots):
            table.connections[slot] = -1
        return table

    def claim(self) -> int | None:
        """A free slot for a worker about to be forked (master, single-threaded)."""
        for slot in range(len(self.connections)):
            if self.connections[slot] < 0:
                self.reported_at[slot] = 0.0
                self.connections[slot] = 0
                return slot
        return None

    def release(self, slot: int) -> None:
        self.connections[slot] = -1
        self.reported_at[slot] = 0.0

    def report(self, slot: int, connections: int, now: float) -> None:
        self.connections[slot] = connections
        self.reported_at[slot] = now

    def least_connections(self, now: float) -> int | None:
        """The fewest open connections among live workers (None when none is live)."""
        oldest = now - STALE_AFTER
        live = [
            count
            for count, at in zip(self.connections[:], self.reported_at[:], strict=True)
            if count >= 0 and at >= oldest
        ]
        return min(live) if live else None


_table: ConnectionTable | None = None


def should_accept(mine: int, least: int | None) -> bool:
    """Accept new connections while holding no more than the least-loaded live worker."""
    return least is None or mine <= least


# gunicorn server hooks (master process); gunicorn.conf.py delegates to them.
def on_starting(server: Any) -> None:
    global _table
    _table = ConnectionTable.create()
    if server.cfg.preload_app:
        load_urlconf()


def pre_fork(server: Any, worker: Any) -> None:
    worker.connection_slot = _table.claim() if _table is not None else None
    gc.freeze()


def load_urlconf() -> None:
    """Import what Django imports on the first request (the URLconf, hence every view), when
    the preloaded application is Django's."""
    from django.apps import apps
    from django.urls import get_resolver

    if not apps.ready:
        return
    get_resolver().url_patterns  # noqa: B018 - the import is the point


def child_exit(server: Any, worker: Any) -> None:
    slot = getattr(worker, "connection_slot", None)
    if _table is not None and slot is not None:
        _table.release(slot)


class BalancedThreadWorker(ThreadWorker):
    """``gthread`` that accepts only while it is among the least-loaded workers."""

    connection_slot: int | None = None

    def _balanced(self) -> bool:
        slot = self.connection_slot
        if _table is None or slot is None:
            return True
        now = time.monotonic()
        _table.report(slot, self.nr_conns, now)
        return should_accept(self.nr_conns, _table.least_connections(now))

    def notify(self) -> None:
        """Top of each event-loop turn: report, and stop polling the listener when over the least."""
        super().notify()
        if self._accepting and not self._balanced():
            super().set_accept_enabled(False)

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled and not self._balanced():
            return  # the loop asks again next turn
        super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self.alive and not self._accepting and _table is not None and self.connection_slot is not None:
            timeout = min(timeout, RECHECK_EVERY)
        super().wait_for_and_dispatch_events(timeout)

    def accept(self, listener: Any) -> None:
        super().accept(listener)
        # Tell the others at once; a burst of new connections is then spread, not taken by one.
        if _table is not None and self.connection_slot is not None:
            _table.report(self.connection_slot, self.nr_conns, time.monotonic())
