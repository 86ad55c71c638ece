"""Django's PostgreSQL backend; the connection health check costs no round trip while the
connection is busy.

Django's health check (``CONN_HEALTH_CHECKS``) sends ``SELECT 1`` before the first query of
every request: a round trip and ~0.12 ms of Python CPU per request on the transfer hot path
(bench/RESULTS.md). Here, as pgx's pool does for Go, a connection used less than
:data:`PING_AFTER_IDLE` seconds ago is checked locally instead: psycopg still considers it open
and the server has sent nothing on it since (a backend that was terminated, restarted or timed
out says so on the socket, or closes it). Anything else — idle longer, data waiting, a broken or
closed connection — gets Django's ``SELECT 1``, and a connection that fails it is replaced before
the request uses it, exactly as before. Connections that saw an error are still checked by
Django with a round trip at the start of the next request (``errors_occurred``).
"""

from __future__ import annotations

import select
import time

from django.db.backends.postgresql import base

#: A connection idle longer than this (seconds) is pinged with ``SELECT 1`` before it is reused.
PING_AFTER_IDLE = 1.0


def server_sent_something(fileno: int) -> bool:
    """True when the server's side of the socket has data or hung up (never blocks)."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    #: When the connection was last known good (opened, or checked at a request's start).
    checked_at: float = 0.0

    def connect(self) -> None:
        super().connect()
        self.checked_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        conn = self.connection
        done: bool = self.health_check_done  # type: ignore[has-type]
        enabled: bool = self.health_check_enabled  # type: ignore[attr-defined]  # not in django-stubs
        if conn is None or not enabled or done or self.pool:
            super().close_if_health_check_failed()
            return
        now = time.monotonic()
        if (
            now - self.checked_at <= PING_AFTER_IDLE
            and not conn.closed
            and not conn.broken
            and not server_sent_something(conn.fileno())
        ):
            self.health_check_done = True
        else:
            super().close_if_health_check_failed()  # SELECT 1; closes the connection if it fails
        self.checked_at = now
