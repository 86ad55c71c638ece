"""The database is always PostgreSQL — embedded or external — never SQLite."""

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db
def test_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    assert version.startswith("PostgreSQL")


def test_persistent_connections_with_health_checks() -> None:
    db = settings.DATABASES["default"]
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["CONN_MAX_AGE"] > 0
    assert db["ATOMIC_REQUESTS"] is False


def test_embedded_postgres_is_used_when_no_database_url(tmp_path) -> None:
    # given no DATABASE_URL: the embedded server the settings would start
    from vaultcore.embedded_postgres import embedded_database_config

    if settings.DATABASE_URL:
        pytest.skip("suite runs on an external PostgreSQL; the embedded path is exercised without DATABASE_URL")
    # when
    config = embedded_database_config(settings.EMBEDDED_POSTGRES_DIR)
    # then it is a running PostgreSQL reachable through its socket
    assert config["ENGINE"] == "django.db.backends.postgresql"
    import psycopg

    with psycopg.connect(host=config["HOST"], user=config["USER"], dbname=config["NAME"]) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None
        assert row[0] >= 150000
