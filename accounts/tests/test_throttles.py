"""Throttles: strict limits on authentication endpoints (per IP and per account), the general
per-user limit, 429 ``throttled`` with ``Retry-After``, and ``off``."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.conftest import bearer, error_code, login
from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rates(settings: Any, **rates: str | None) -> None:
    base = {"user": None, "auth_ip": None, "auth_account": None}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**base, **rates}}


def test_login_is_throttled_per_ip(api_client: APIClient, settings) -> None:
    # given
    _rates(settings, auth_ip="3/min")
    # when
    statuses = [
        api_client.post("/api/v1/auth/token/", {"username": f"u{i}", "password": "x"}, format="json").status_code
        for i in range(4)
    ]
    # then
    assert statuses == [401, 401, 401, 429]


def test_login_is_throttled_per_account_across_ips(settings) -> None:
    # given
    _rates(settings, auth_account="2/min")
    UserFactory.create(username="victim")
    # when
    statuses = [
        APIClient(REMOTE_ADDR=f"10.0.0.{i}")
        .post("/api/v1/auth/token/", {"username": "VICTIM", "password": "x"}, format="json")
        .status_code
        for i in range(3)
    ]
    other = APIClient(REMOTE_ADDR="10.0.0.9").post(
        "/api/v1/auth/token/", {"username": "someone-else", "password": "x"}, format="json"
    )
    # then
    assert statuses == [401, 401, 429]
    assert other.status_code == 401


def test_429_has_the_error_shape_and_retry_after(api_client: APIClient, settings) -> None:
    _rates(settings, auth_ip="1/min")
    api_client.post("/api/v1/auth/forgot-password/", {"email": "a@example.com"}, format="json")
    response = api_client.post("/api/v1/auth/forgot-password/", {"email": "a@example.com"}, format="json")
    assert response.status_code == 429
    assert response.json()["type"] == "client_error"
    assert error_code(response) == "throttled"
    assert int(response["Retry-After"]) > 0


def test_x_forwarded_for_does_not_dodge_the_ip_limit(api_client: APIClient, settings) -> None:
    _rates(settings, auth_ip="1/min")
    api_client.post("/api/v1/auth/token/", {"username": "a", "password": "x"}, format="json")
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "b", "password": "x"}, format="json", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/auth/refresh/", {"refresh": "x"}),
        ("post", "/api/v1/auth/forgot-password/", {"email": "a@example.com"}),
        ("get", "/api/v1/auth/verify-email/?token=x", None),
    ],
)
def test_refresh_forgot_password_and_verification_are_throttled(
    api_client: APIClient, settings, method: str, path: str, body: dict | None
) -> None:
    _rates(settings, auth_ip="2/min")
    responses = [getattr(api_client, method)(path, body, format="json") for _ in range(3)]
    assert [r.status_code == 429 for r in responses] == [False, False, True]


def test_general_user_limit(settings) -> None:
    # given
    user = UserFactory.create()
    client = bearer(login(APIClient(), user)["access"])
    _rates(settings, user="3/min")
    # when
    statuses = [client.get("/api/v1/users/me/").status_code for _ in range(4)]
    # then
    assert statuses == [200, 200, 200, 429]


def test_off_disables_a_throttle(api_client: APIClient, settings) -> None:
    _rates(settings, auth_ip=None, auth_account=None)
    statuses = {
        api_client.post("/api/v1/auth/token/", {"username": "a", "password": "x"}, format="json").status_code
        for _ in range(15)
    }
    assert statuses == {401}


@pytest.mark.parametrize(("value", "rate"), [("off", None), ("OFF", None), ("5/min", "5/min"), ("100/min", "100/min")])
def test_the_env_value_off_means_no_rate(monkeypatch, value: str, rate: str | None) -> None:
    from vaultcore.settings import _throttle_rate

    monkeypatch.setenv("THROTTLE_TEST_RATE", value)
    assert _throttle_rate("THROTTLE_TEST_RATE", "100/min") == rate


def test_default_rates() -> None:
    import vaultcore.settings as base

    assert base.THROTTLE_USER_RATE == "100/min"


def test_with_the_shared_cache_unreachable_throttles_still_limit_and_never_error(settings) -> None:
    # given a token, then Redis (the throttle cache) unreachable
    user = UserFactory.create()
    client = bearer(login(APIClient(), user)["access"])
    closed = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": closed,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    _rates(settings, user="3/min")
    from accounts.throttles import _FALLBACK_CACHE

    _FALLBACK_CACHE.clear()
    # when
    statuses = [client.get("/api/v1/users/me/").status_code for _ in range(4)]
    # then: no 500; the per-process fallback still counts
    assert statuses == [200, 200, 200, 429]


# --- The admin's log-in form has the same limits, counted together with the API log-in --------
def _admin_login(client: Client, username: str, password: str) -> int:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}).status_code


def test_admin_login_is_throttled_and_locked_out_attempts_are_logged(settings, caplog) -> None:
    # given the production default rates and a superuser
    _rates(settings, auth_ip="10/min", auth_account="10/min")
    superuser = SuperuserFactory.create()
    client = Client()
    # when 40 wrong passwords are tried, then the right one
    with caplog.at_level(logging.WARNING, logger="accounts.throttles"):
        wrong = [_admin_login(client, superuser.username, f"guess-{i}") for i in range(40)]
        right = client.post(
            "/admin/login/?next=/admin/", {"username": superuser.username, "password": DEFAULT_PASSWORD}
        )
    # then the 11th attempt on is refused without checking the password, the right one included
    assert wrong == [200] * 10 + [429] * 30
    assert right.status_code == 429 and int(right["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert any("lock-out" in record.getMessage() for record in caplog.records)


def test_admin_and_api_login_share_the_per_account_budget(settings) -> None:
    # given
    _rates(settings, auth_account="4/min")
    staff = StaffFactory.create()
    # when two attempts go to the API and two to the admin, from different addresses
    api = [
        APIClient(REMOTE_ADDR=f"10.1.0.{i}")
        .post("/api/v1/auth/token/", {"username": staff.username, "password": "x"}, format="json")
        .status_code
        for i in range(2)
    ]
    admin = [_admin_login(Client(REMOTE_ADDR=f"10.2.0.{i}"), staff.username, "x") for i in range(3)]
    # then the fifth attempt on the account is refused
    assert api == [401, 401]
    assert admin == [200, 200, 429]


def test_admin_login_form_still_logs_in_below_the_limit(settings) -> None:
    _rates(settings, auth_ip="10/min", auth_account="10/min")
    staff = StaffFactory.create()
    client = Client()
    assert _admin_login(client, staff.username, "wrong") == 200
    assert _admin_login(client, staff.username, DEFAULT_PASSWORD) == 302
