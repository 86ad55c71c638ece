"""vaultcore.middleware: disallowed hosts answer the contract's 400."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client, override_settings

from vaultcore.tests import live_server

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
    env = live_server.server_env({"DEBUG": "True", "DATABASE_URL": live_server.database_url("hunter2-db-secret")})
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
