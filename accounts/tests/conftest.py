"""Fixtures of the accounts tests: log-in helpers and token forging tools."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD


def login(client: APIClient, user: User, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """Log in through the API; returns the token body (cookies stay on the client)."""
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def error_code(response: Any) -> str:
    return str(response.json()["errors"][0]["code"])


def error_attr(response: Any) -> str | None:
    attr = response.json()["errors"][0]["attr"]
    return None if attr is None else str(attr)


@pytest.fixture
def throttles_off(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": None, "auth_ip": None, "auth_account": None},
    }


@pytest.fixture
def csrf_client() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


__all__ = ["bearer", "error_attr", "error_code", "login", "settings"]
