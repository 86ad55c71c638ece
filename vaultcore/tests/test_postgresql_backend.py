"""vaultcore.postgresql_backend: the health check pings idle connections only, and a connection
the server dropped is still replaced before a request uses it (real PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from django.db import close_old_connections, connection, connections

from vaultcore.postgresql_backend import base as backend


def _request_starts() -> None:
    """What Django runs when a request starts, then before its first query."""
    close_old_connections()
    connection.close_if_health_check_failed()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.fixture
def pings(monkeypatch) -> list[int]:
    """Count Django's SELECT 1 health checks (``is_usable``) while still running them."""
    calls: list[int] = []
    original = backend.base.DatabaseWrapper.is_usable

    def counting(self: backend.DatabaseWrapper) -> bool:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(backend.base.DatabaseWrapper, "is_usable", counting)
    return calls


@pytest.fixture
def persistent_connection(settings):
    """A persistent, health-checked connection, as in production (tests default to closing)."""
    wrapper = connections["default"]
    saved = (wrapper.settings_dict["CONN_MAX_AGE"], wrapper.settings_dict["CONN_HEALTH_CHECKS"])
    wrapper.settings_dict["CONN_MAX_AGE"] = 60
    wrapper.settings_dict["CONN_HEALTH_CHECKS"] = True
    wrapper.close()
    yield wrapper
    wrapper.settings_dict["CONN_MAX_AGE"], wrapper.settings_dict["CONN_HEALTH_CHECKS"] = saved
    wrapper.close()


def test_the_settings_use_this_backend() -> None:
    assert connection.settings_dict["ENGINE"] == "vaultcore.postgresql_backend"
    assert isinstance(connections["default"], backend.DatabaseWrapper)


@pytest.mark.django_db(transaction=True)
def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(persistent_connection, pings, monkeypatch) -> None:
    pid = _backend_pid()  # a new connection: known good
    for _ in range(5):  # requests in quick succession
        _request_starts()
        assert _backend_pid() == pid
    assert pings == []

    persistent_connection.checked_at = time.monotonic() - backend.PING_AFTER_IDLE - 0.1  # idle
    _request_starts()
    assert len(pings) == 1
    assert _backend_pid() == pid
    _request_starts()
    assert len(pings) == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_before_the_request_uses_it(persistent_connection, pings) -> None:
    pid = _backend_pid()
    _request_starts()
    _request_starts()
    assert pings == []  # busy: checked locally

    # another session terminates our backend (a restart, an idle timeout, an operator)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    deadline = time.monotonic() + 5
    while not backend.server_sent_something(persistent_connection.connection.fileno()):
        assert time.monotonic() < deadline, "the server never closed the socket"
        time.sleep(0.01)

    _request_starts()  # recently used, but the server has spoken: pinged, fails, replaced
    assert len(pings) == 1
    assert persistent_connection.connection is None
    assert _backend_pid() != pid  # the request's first query runs on a new connection
