"""The events API: the caller's events only, newest first or oldest first after a sequence."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from wallets.services import wallet_create

pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def users_with_events() -> tuple[User, User]:
    """alice: a funded wallet (deposit created + posted) and three transfers to bob."""
    alice_wallet = funded_wallet(amount="50.00")
    bob = UserFactory.create()
    wallet_create(user=bob, currency="USD")
    assert alice_wallet.user is not None
    for amount in ("1.00", "2.00", "3.00"):
        transfer_create(sender=alice_wallet.user, recipient=bob.username, currency="USD", amount=Decimal(amount))
    return alice_wallet.user, bob


def test_list_is_the_callers_events_newest_first() -> None:
    _alice, bob = users_with_events()
    response = client_for(bob).get("/api/v1/events/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert [e["sequence"] for e in body["results"]] == [4, 3, 2, 1]
    assert [e["type"] for e in body["results"]][-1] == "wallet.created"
    first = body["results"][0]
    assert set(first) == {"id", "type", "created_at", "sequence", "data"}
    assert first["id"].startswith("evt_") and first["data"]["object"]["amount"] == "3.00"
    assert first["data"]["object"]["direction"] == "credit"


def test_type_filter_and_cursor_pages() -> None:
    alice, _ = users_with_events()
    client = client_for(alice)
    page = client.get("/api/v1/events/?type=transaction.posted&limit=2").json()
    assert [e["data"]["object"]["amount"] for e in page["results"]] == ["3.00", "2.00"]
    rest = client.get(page["next"]).json()
    assert [e["data"]["object"]["amount"] for e in rest["results"]] == ["1.00", "50.00"]
    assert rest["next"] is None


def test_after_sequence_is_oldest_first_from_there() -> None:
    _, bob = users_with_events()
    client = client_for(bob)
    body = client.get("/api/v1/events/?after_sequence=1&limit=2").json()
    assert [e["sequence"] for e in body["results"]] == [2, 3]
    assert [e["sequence"] for e in client.get(body["next"]).json()["results"]] == [4]
    assert client.get("/api/v1/events/?after_sequence=4").json()["results"] == []


@pytest.mark.parametrize("query", ["type=money.printed", "after_sequence=-1", "after_sequence=x", "cursor=zzz"])
def test_bad_filters_are_400(query: str) -> None:
    response = client_for(UserFactory.create()).get(f"/api/v1/events/?{query}")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_detail_is_the_callers_own_and_anyone_elses_is_404() -> None:
    alice, bob = users_with_events()
    event_id = client_for(bob).get("/api/v1/events/").json()["results"][0]["id"]
    mine = client_for(bob).get(f"/api/v1/events/{event_id}/")
    assert mine.status_code == 200 and mine.json()["id"] == event_id
    theirs = client_for(alice).get(f"/api/v1/events/{event_id}/")
    assert theirs.status_code == 404 and theirs.json()["errors"][0]["code"] == "not_found"
    assert client_for(bob).get("/api/v1/events/evt_nothex/").status_code == 404
    assert client_for(bob).get(f"/api/v1/events/{event_id[4:]}/").status_code == 404


def test_anonymous_callers_are_refused(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/events/").status_code == 401
