"""vaultcore.middleware: disallowed hosts answer the contract's 400; /api/ responses are no-store;
NUL characters and too many query parameters are a 400, never a 500."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from vaultcore.tests import live_server

pytestmark = pytest.mark.django_db

INVALID_HOST = {
    "type": "validation_error",
    "errors": [{"code": "invalid_host", "detail": "The Host header is not allowed.", "attr": None}],
}

# API, auth, admin (HTML elsewhere), docs, probes and unknown paths alike.
EVERY_KIND_OF_PATH = [
    "/api/v1/wallets/",
    "/api/v1/auth/token/",
    "/admin/",
    "/admin/login/",
    "/api/docs/",
    "/api/schema/",
    "/healthz",
    "/nowhere/",
]


# --- Host header -----------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", EVERY_KIND_OF_PATH)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_disallowed_host_gets_the_contracts_400_on_every_path(path: str, debug: bool, method: str) -> None:
    # given a Host header outside ALLOWED_HOSTS
    client = Client(raise_request_exception=False)

    # when
    with override_settings(DEBUG=debug):
        response = client.generic(method, path, HTTP_HOST="evil.example")

    # then the contract's JSON error, not Django's (technical) HTML page
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == INVALID_HOST


def test_a_disallowed_host_is_refused_by_a_real_debug_server_without_leaking_settings(tmp_path: Path) -> None:
    # given runserver in DEBUG (as `make run` starts it) whose DATABASE_URL holds a password
    port = live_server.free_port()
    env = live_server.server_env({"DEBUG": "True", **live_server.database_env("hunter2-db-secret")})
    argv = ["manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]

    with live_server.running(argv, env, port, tmp_path / "runserver.log"):
        for path in ("/admin/", "/api/v1/wallets/", "/healthz"):
            # when a request names another host
            status, headers, body = live_server.request(port, "GET", path, host="evil.example")

            # then JSON, in the contract's shape, and no settings page
            assert status == 400, body
            assert headers["content-type"] == "application/json"
            assert json.loads(body) == INVALID_HOST
            assert "hunter2" not in body

        # and an allowed host is still served
        status, _, _ = live_server.request(port, "GET", "/healthz", host="localhost")
        assert status == 200


# --- Cache-Control ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_and_money_responses_are_no_store() -> None:
    # given a user
    user = UserFactory.create()
    client = Client()

    # when logging in and reading wallets
    login = client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        content_type="application/json",
    )
    wallets = client.get("/api/v1/wallets/", HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")

    # then neither may be stored by a browser or a proxy
    assert login.status_code == 200
    assert login["Cache-Control"] == "no-store"
    assert wallets.status_code == 200
    assert wallets["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "host", "status"),
    [
        ("GET", "/api/v1/wallets/", "testserver", 401),
        ("POST", "/api/v1/auth/token/", "testserver", 400),
        ("GET", "/api/v1/no-such-thing/", "testserver", 404),
        ("DELETE", "/api/v1/auth/token/", "testserver", 405),
        ("GET", "/api/v1/wallets/", "evil.example", 400),
    ],
)
def test_api_error_responses_are_no_store(method: str, path: str, host: str, status: int) -> None:
    response = Client().generic(method, path, data="{}", content_type="application/json", HTTP_HOST=host)

    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"


def test_the_public_schema_stays_cacheable() -> None:
    # The schema is one public document for every caller.
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Malformed requests ------------------------------------------------------------------------

_TOO_MANY_PARAMS = "&".join(f"p{i}=1" for i in range(1001))


def _assert_400(response, code: str, attr: str | None = None) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"] == [{"code": code, "detail": body["errors"][0]["detail"], "attr": attr}]


def _assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/users/", "/api/v1/transactions/", "/api/v1/no-such-path/"])
def test_more_than_1000_query_parameters_is_a_400(path: str, caplog: pytest.LogCaptureFixture) -> None:
    # given
    client = APIClient()
    client.force_authenticate(StaffFactory.create())
    # when
    response = client.get(f"{path}?{_TOO_MANY_PARAMS}")
    # then
    _assert_400(response, "too_many_fields")
    _assert_no_error_logged(caplog)


def test_a_nul_byte_in_the_username_path_is_a_400(caplog: pytest.LogCaptureFixture) -> None:
    # given
    client = APIClient()
    client.force_authenticate(StaffFactory.create())
    # when
    response = client.get("/api/v1/users/a%00b/")
    # then
    _assert_400(response, "null_characters_not_allowed")
    _assert_no_error_logged(caplog)


def test_a_nul_byte_in_a_query_value_is_a_400_on_that_parameter(caplog: pytest.LogCaptureFixture) -> None:
    # given
    client = APIClient()
    client.force_authenticate(StaffFactory.create())
    # when
    response = client.get("/api/v1/users/?search=a%00b")
    # then
    _assert_400(response, "null_characters_not_allowed", attr="search")
    _assert_no_error_logged(caplog)


def test_a_nul_byte_in_a_query_name_is_a_400(caplog: pytest.LogCaptureFixture) -> None:
    response = APIClient().get("/healthz?a%00b=1")
    _assert_400(response, "null_characters_not_allowed")
    _assert_no_error_logged(caplog)


def test_a_clean_request_passes_through() -> None:
    assert APIClient().get("/healthz?probe=1").json() == {"status": "ok"}
