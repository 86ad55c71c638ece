"""Database faults for tests: this process's connection killed by the server, as a PostgreSQL
restart or a failover does to every open connection."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from django.db import connection

F = TypeVar("F", bound=Callable[..., Any])


def terminate_current_backend() -> None:
    """``pg_terminate_backend`` of Django's connection, from a second connection; returns once
    the server has ended it (the next statement on it fails)."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"],
        "port": db["PORT"],
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.02)


def terminated_before_first_call(func: F) -> F:
    """``func``, whose first call finds its connection killed (later calls run normally)."""
    calls = {"n": 0}

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            terminate_current_backend()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
