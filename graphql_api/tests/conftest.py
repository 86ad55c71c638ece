"""Helpers of the GraphQL tests: real HTTP POSTs of JSON to /graphql/."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.services import token_pair_issue


@pytest.fixture(autouse=True)
def _sandbox_provider(settings: Settings) -> None:
    settings.PAYMENTS_PROVIDER = "sandbox"


def access_for(user: User) -> str:
    return str(token_pair_issue(user=user).access)


def gql(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    user: User | None = None,
    client: Client | None = None,
    **headers: Any,
) -> dict[str, Any]:
    """POST one operation; returns the JSON body (the transport answers 200)."""
    client = client or Client()
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {access_for(user)}"
    response = client.post(
        "/graphql/", {"query": query, "variables": variables or {}}, content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    return response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
