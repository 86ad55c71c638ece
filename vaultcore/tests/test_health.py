"""/healthz and /readyz."""

import pytest
from django.db import connections
from django.test import override_settings
from rest_framework.test import APIClient

from vaultcore import health


def test_healthz_is_200_without_touching_anything(api_client: APIClient) -> None:
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_the_database_answers(api_client: APIClient) -> None:
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_is_unreachable(api_client: APIClient, monkeypatch) -> None:
    # given a real connection to a port where no PostgreSQL listens
    good = connections["default"]
    params = {**good.settings_dict, "HOST": "127.0.0.1", "PORT": "1", "OPTIONS": {"connect_timeout": 2}}
    unreachable = good.__class__(params, alias="unreachable")
    monkeypatch.setattr(health, "connections", {"default": unreachable})

    # when
    response = api_client.get("/readyz")

    # then
    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "server_error"
    assert body["checks"]["database"] == "unavailable"
    assert body["errors"][0] == {
        "code": "service_unavailable",
        "detail": "The database is unreachable.",
        "attr": "database",
    }
    unreachable.close()


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_is_503_naming_the_broker_when_it_is_configured_and_down(api_client: APIClient) -> None:
    response = api_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "unavailable"}
    assert [e["attr"] for e in body["errors"]] == ["broker"]
