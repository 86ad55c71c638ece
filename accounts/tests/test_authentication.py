"""The authentication class: one query per request, no password hashing, schema extension."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tests.conftest import bearer, login
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_authenticated_request_costs_one_query() -> None:
    # given
    user = UserFactory.create()
    access = login(APIClient(), user)["access"]
    client = bearer(access)
    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/users/me/")
    # then
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "accounts_revokedaccesstoken" in queries[0]["sql"]


def test_force_authenticate_still_works(api_client: APIClient) -> None:
    user = UserFactory.create()
    api_client.force_authenticate(user)
    assert api_client.get("/api/v1/users/me/").json()["username"] == user.username


def test_schema_offers_bearer_authorization(api_client: APIClient) -> None:
    import yaml

    schema = yaml.safe_load(api_client.get("/api/schema/").content)
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/users/me/"]["get"]["security"] == [{"jwtAuth": []}]
    assert "security" not in schema["paths"]["/api/v1/auth/token/"]["post"] or schema["paths"]["/api/v1/auth/token/"][
        "post"
    ]["security"] in ([], [{}])
