"""vaultcore.db: the hot path's statements are prepared through psycopg's public API; every other
cursor stays Django's and prepares nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vaultcore.db import hot_path_cursor

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def test_the_connection_is_django_s_stock_postgresql_backend() -> None:
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["OPTIONS"]["server_side_binding"] is True


def test_a_hot_path_statement_is_prepared_once_and_reused() -> None:
    # given
    sql = "SELECT %s::int + 1 AS hot_path_probe"
    # when
    for value in (1, 2, 3):
        with hot_path_cursor() as cursor:
            cursor.execute(sql, [value])
            assert cursor.fetchone() == (value + 1,)
    # then
    assert [s for s in prepared_statements() if "hot_path_probe" in s] == ["SELECT $1::int + 1 AS hot_path_probe"]


def test_other_cursors_prepare_nothing() -> None:
    # given
    for value in (1, 2, 3, 4, 5, 6):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int AS plain_probe", [value])
    # then
    assert not [s for s in prepared_statements() if "plain_probe" in s]


def test_prepared_statements_are_logged_with_their_values() -> None:
    # given
    with hot_path_cursor() as cursor:
        cursor.execute("SELECT %s::int AS logged_probe", [7])
    # when
    with CaptureQueriesContext(connection) as queries, hot_path_cursor() as cursor:
        cursor.execute("SELECT %s::int AS logged_probe", [8])
    # then
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 8::int AS logged_probe"]
