"""A database that cannot be reached (stopped, restarting, failing over) gives clients 503
``service_unavailable`` with ``Retry-After`` on every path — REST, GraphQL, the admin — never a
500; ``/healthz`` stays up and ``/readyz`` reports it. Classification unit tests, then a real
gunicorn whose DATABASE_URL points at a port nothing listens on."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import psycopg
import pytest
from django.db import Error, IntegrityError, InterfaceError, InternalError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from accounts.services import token_pair_issue
from accounts.tests.factories import UserFactory
from vaultcore.errors import error_payload, is_database_unavailable, server_error
from vaultcore.tests import live_server


def _django(django_class: type[Error], cause: Exception) -> Error:
    """A psycopg error as Django raises it (wrapped, the original as ``__cause__``)."""
    wrapped = django_class(str(cause))
    wrapped.__cause__ = cause
    return wrapped


@pytest.mark.parametrize(
    "exc",
    [
        _django(OperationalError, psycopg.OperationalError("connection refused")),
        _django(OperationalError, psycopg.OperationalError("server closed the connection unexpectedly")),
        _django(InterfaceError, psycopg.InterfaceError("the connection is closed")),
        _django(OperationalError, psycopg.errors.AdminShutdown("terminating connection")),
        _django(OperationalError, psycopg.errors.CannotConnectNow("the database system is starting up")),
        _django(OperationalError, psycopg.errors.TooManyConnections("too many clients")),
        _django(OperationalError, psycopg.errors.ConnectionFailure("connection failure")),
        _django(InternalError, psycopg.errors.ReadOnlySqlTransaction("read-only transaction")),
        psycopg.OperationalError("connection refused"),
    ],
)
def test_a_lost_database_is_503_service_unavailable(exc: Exception) -> None:
    assert is_database_unavailable(exc)
    status, body = error_payload(exc)
    assert status == 503
    assert body["type"] == "server_error"
    assert [error["code"] for error in body["errors"]] == ["service_unavailable"]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        # contention: the services retry it; one that escapes is the busy 503 (Retry-After: 1)
        (_django(OperationalError, psycopg.errors.DeadlockDetected("deadlock")), (503, "service_unavailable")),
        (_django(IntegrityError, psycopg.errors.UniqueViolation("duplicate key")), (500, "server_error")),
        (_django(InternalError, psycopg.errors.RaiseException("ledger invariant")), (500, "server_error")),
        (RuntimeError("boom"), (500, "server_error")),
    ],
)
def test_other_errors_are_not_a_lost_database(exc: Exception, expected: tuple[int, str]) -> None:
    assert not is_database_unavailable(exc)
    status, body = error_payload(exc)
    assert (status, body["errors"][0]["code"]) == expected


def _handler500_response(exc: Exception, request: HttpRequest) -> HttpResponse:
    """What Django's handler500 answers for ``exc`` (it is called while the exception is handled)."""
    try:
        raise exc
    except Exception:
        return server_error(request)


def test_an_exception_no_view_handled_is_503_when_the_database_is_lost(rf: RequestFactory) -> None:
    # given exceptions raised outside any view (a middleware's own query), rendered by handler500
    request = rf.get("/api/v1/wallets/")
    lost = _django(OperationalError, psycopg.OperationalError("server closed the connection unexpectedly"))
    broken = _django(IntegrityError, psycopg.errors.UniqueViolation("duplicate key"))
    # then a lost database is 503 service_unavailable with Retry-After; anything else stays a 500
    response = _handler500_response(lost, request)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert json.loads(response.content)["errors"][0]["code"] == "service_unavailable"
    response = _handler500_response(broken, request)
    assert response.status_code == 500 and not response.has_header("Retry-After")


def _call(
    port: int, method: str, path: str, body: str | None = None, **headers: str
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


@pytest.mark.django_db
def test_a_server_whose_database_is_down_answers_503_with_retry_after(tmp_path: Path) -> None:
    # given gunicorn (production settings) whose database refuses connections, and a valid token
    token = str(token_pair_issue(user=UserFactory.create()).access)
    port, closed = live_server.free_port(), live_server.free_port()
    env = live_server.server_env(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/vaultcore",
            "DB_CONNECT_TIMEOUT": "2",
            "SECURE_SSL_REDIRECT": "False",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "LOG_FORMAT": "json",
        }
    )
    env.pop("PGHOST", None)
    argv = ["-m", "gunicorn", "-c", "gunicorn.conf.py", "vaultcore.wsgi:application"]
    bearer = {"Authorization": f"Bearer {token}"}
    graphql = json.dumps({"query": "{ me { username } }"})
    with live_server.running(argv, env, port, tmp_path / "server.log"):
        # when REST, GraphQL and the admin are asked for something that needs the database
        rest = _call(port, "GET", "/api/v1/wallets/", **bearer)
        login = _call(
            port,
            "POST",
            "/api/v1/auth/token/",
            json.dumps({"username": "alice", "password": "a-password-0123"}),
            **{"Content-Type": "application/json"},
        )
        gql = _call(port, "POST", "/graphql/", graphql, **bearer, **{"Content-Type": "application/json"})
        admin = _call(port, "GET", "/admin/", Cookie="sessionid=abcdefghijklmnopqrstuvwxyz012345")
        healthz = _call(port, "GET", "/healthz")
        readyz = _call(port, "GET", "/readyz")
    # then REST: 503 in the contract's shape with Retry-After
    status, headers, body = rest
    assert (status, headers.get("retry-after")) == (503, "5"), body
    assert json.loads(body)["errors"][0]["code"] == "service_unavailable"
    assert (login[0], login[1].get("retry-after")) == (503, "5"), login[2]
    # GraphQL: its own shape, code service_unavailable, with Retry-After
    status, headers, body = gql
    assert status == 200 and headers.get("retry-after") == "5", body
    assert [e["extensions"]["code"] for e in json.loads(body)["errors"]] == ["service_unavailable"]
    # the admin: 503 too, never a 500
    status, headers, body = admin
    assert (status, headers.get("retry-after")) == (503, "5"), body
    # the process is up; it is not ready
    assert healthz[0] == 200 and readyz[0] == 503
    log = (tmp_path / "server.log").read_text()
    assert "Internal Server Error" not in log and '"status": 500' not in log
