"""Prepared statements for the request hot path's hand-written SQL (authentication, idempotency
keys, the wallet locks, the posting statement), through psycopg's public API only.

With ``DB_PREPARED_STATEMENTS`` on, the settings bind parameters server-side (Django's
``server_side_binding``) and give psycopg a ``prepare_threshold`` that no query reaches, so
nothing is prepared by default; new connections make their cursors :class:`PreparingCursor`
(psycopg's ``cursor_factory``), and one from :func:`hot_path_cursor` asks psycopg to prepare its
statements (``execute(..., prepare=True)``): each is planned once per connection, then only
executed. Off, every cursor is Django's default one. Why and what it saves: docs/performance.md.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorWrapper
from psycopg.abc import Params


class PreparingCursor(psycopg.Cursor[Any]):
    """psycopg's server-side binding cursor; with ``prepare`` set, every statement it executes is
    prepared (``execute(..., prepare=True)``). Like Django's own cursor for ``server_side_binding``
    but without ``callproc``, which VaultCore does not use."""

    prepare: bool | None = None

    def execute(
        self, query: Any, params: Params | None = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> PreparingCursor:
        super().execute(query, params, prepare=self.prepare if prepare is None else prepare, binary=binary)
        return self


def use_preparing_cursors(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver (vaultcore.apps)."""
    if settings.DB_PREPARED_STATEMENTS and connection.vendor == "postgresql":
        connection.connection.cursor_factory = PreparingCursor


def hot_path_cursor() -> CursorWrapper:
    """``connection.cursor()`` (Django's connection handling, query logging, error translation)
    whose statements are prepared when ``DB_PREPARED_STATEMENTS`` is on. Only for fixed SQL text
    whose values are all parameters."""
    cursor = connection.cursor()
    if isinstance(cursor.cursor, PreparingCursor):
        cursor.cursor.prepare = True
    return cursor
