"""A cursor for the hand-written statements of the request hot path (issue 7).

PostgreSQL plans a statement sent with client-side binding (Django's default) on every call: for
the transfer's lock and posting statements that planning costs about as much CPU as running
them. With ``DB_PREPARED_STATEMENTS`` on, these statements are bound server-side and prepared
once per connection (psycopg's named prepared statements), then only executed. Everything else
keeps Django's default cursor. Nothing about the results, transactions or errors changes: the
cursor is wrapped like ``connection.cursor()`` (connection health check, query logging, execute
wrappers, database error translation).

Turn it off behind PgBouncer older than 1.21 in transaction pooling mode (or with
``max_prepared_statements = 0``): such a pooler cannot route protocol-level prepared statements.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorWrapper
from psycopg import Cursor
from psycopg._queries import PostgresQuery
from psycopg.abc import Params, PQGen


class _PreparingCursor(Cursor[Any]):
    """Server-side binding; every statement is prepared on first use (and reused after)."""

    def execute(
        self, query: Any, params: Params | None = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> _PreparingCursor:
        return super().execute(query, params, prepare=True, binary=binary)

    def _maybe_prepare_gen(
        self, pgq: PostgresQuery, *, prepare: bool | None = None, binary: bool | None = None
    ) -> PQGen[None]:
        # psycopg records the statement (``_query``) only when it sends it unprepared; Django's
        # query log (DEBUG, CaptureQueriesContext) reads it from there. Record it either way.
        self._query = pgq
        return super()._maybe_prepare_gen(pgq, prepare=prepare, binary=binary)


def hot_path_cursor() -> CursorWrapper:
    """Like ``connection.cursor()``, prepared statements included when ``DB_PREPARED_STATEMENTS``
    is on. Only for fixed SQL text whose values are all parameters."""
    if not settings.DB_PREPARED_STATEMENTS:
        return connection.cursor()
    # The wrapper itself, not the ``connection`` proxy: each attribute of the proxy is a lookup in
    # the thread's connection handler.
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.close_if_health_check_failed()
    wrapper.ensure_connection()
    wrapper.validate_thread_sharing()
    raw: Any = _PreparingCursor(wrapper.connection)  # django-stubs type these as CursorWrapper
    return wrapper.make_debug_cursor(raw) if wrapper.queries_logged else wrapper.make_cursor(raw)
