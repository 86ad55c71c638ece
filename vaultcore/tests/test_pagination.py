"""LimitCursorPagination: a cursor this API did not make is a 400 on ``cursor``, never a 500."""

from __future__ import annotations

import base64
import logging

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [_cursor("p=abc"), _cursor("p=1.5"), _cursor("p=-1"), _cursor("p=99999999999999999999999"), _cursor("o=x"), "zz"],
)
@pytest.mark.parametrize("path", ["/api/v1/users/", "/api/v1/transactions/"])
def test_a_crafted_cursor_is_a_400(path: str, cursor: str, caplog: pytest.LogCaptureFixture) -> None:
    # given
    client = APIClient()
    client.force_authenticate(StaffFactory.create())
    # when
    response = client.get(path, {"cursor": cursor})
    # then
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["code"] == "invalid_cursor"
    assert response.json()["errors"][0]["attr"] == "cursor"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_next_link_still_pages() -> None:
    # given
    UserFactory.create_batch(3)
    client = APIClient()
    client.force_authenticate(StaffFactory.create())
    # when
    first = client.get("/api/v1/users/", {"limit": 2}).json()
    second = client.get(first["next"]).json()
    # then
    assert len(first["results"]) == 2
    assert {u["id"] for u in first["results"]}.isdisjoint({u["id"] for u in second["results"]})
