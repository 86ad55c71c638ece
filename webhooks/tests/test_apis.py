"""The webhooks API: each user manages their own endpoints only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from webhooks.models import EndpointStatus, WebhookAttempt, WebhookEndpoint
from webhooks.services import endpoint_signing_secrets
from webhooks.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def create(client: APIClient, url: str = "https://127.0.0.1/hook", **extra: Any) -> Any:
    return client.post("/api/v1/webhooks/endpoints/", {"url": url, "event_types": ["*"], **extra}, format="json")


def test_create_shows_the_secret_once_and_stores_it_encrypted() -> None:
    # given
    client = client_for(UserFactory.create())
    # when
    response = create(client, description="orders")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "event_types", "description", "status", "secret", "created_at"}
    assert body["id"].startswith("we_") and body["secret"].startswith("whsec_")
    assert (body["status"], body["description"], body["event_types"]) == ("enabled", "orders", ["*"])
    stored = WebhookEndpoint.objects.get()
    assert body["secret"] not in stored.secret_encrypted and stored.secret == body["secret"]
    # the secret is never shown again
    listed = client.get("/api/v1/webhooks/endpoints/").json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    detail = client.get(f"/api/v1/webhooks/endpoints/{body['id']}/").json()
    assert "secret" not in detail


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"url": "http://127.0.0.1/hook", "event_types": ["*"]}, "url"),  # http outside DEBUG
        ({"url": "https://10.0.0.1/hook", "event_types": ["*"]}, "url"),
        ({"url": "https://169.254.169.254/", "event_types": ["*"]}, "url"),
        ({"url": "https://[::ffff:10.0.0.1]/", "event_types": ["*"]}, "url"),
        ({"url": "not a url", "event_types": ["*"]}, "url"),
        ({"url": "https://127.0.0.1/hook", "event_types": ["money.printed"]}, "event_types.0"),
        ({"url": "https://127.0.0.1/hook", "event_types": []}, "event_types"),
    ],
)
def test_bad_input_is_a_400_on_its_field(payload: dict[str, Any], attr: str) -> None:
    response = client_for(UserFactory.create()).post("/api/v1/webhooks/endpoints/", payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == attr
    assert not WebhookEndpoint.objects.exists()


def test_at_most_ten_endpoints_per_user() -> None:
    client = client_for(UserFactory.create())
    for _ in range(10):
        assert create(client).status_code == 201
    response = create(client)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "endpoint_limit_reached"
    assert WebhookEndpoint.objects.count() == 10


def test_patch_changes_fields_and_checks_a_new_url() -> None:
    client = client_for(UserFactory.create())
    endpoint_id = create(client).json()["id"]
    url = f"/api/v1/webhooks/endpoints/{endpoint_id}/"
    response = client.patch(
        url, {"event_types": ["transaction.posted"], "description": "d", "status": "disabled"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["event_types"], response.json()["status"]) == (["transaction.posted"], "disabled")
    refused = client.patch(url, {"url": "https://192.168.0.1/"}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["attr"] == "url"
    assert WebhookEndpoint.objects.get().url == "https://127.0.0.1/hook"


def test_rotate_secret_returns_a_new_one_and_both_sign_for_a_day() -> None:
    client = client_for(UserFactory.create())
    created = create(client).json()
    response = client.post(f"/api/v1/webhooks/endpoints/{created['id']}/rotate-secret/")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.previous_secret_expires_at is not None
    assert endpoint_signing_secrets(endpoint, now=endpoint.updated_at) == [new, created["secret"]]
    later = endpoint.previous_secret_expires_at
    assert endpoint_signing_secrets(endpoint, now=later) == [new]


def test_delete_is_204_and_someone_elses_endpoint_is_404() -> None:
    owner, other = client_for(UserFactory.create()), client_for(UserFactory.create())
    endpoint_id = create(owner).json()["id"]
    url = f"/api/v1/webhooks/endpoints/{endpoint_id}/"
    for method in ("get", "patch", "delete"):
        assert getattr(other, method)(url, {}, format="json").status_code == 404
    assert other.post(f"{url}rotate-secret/").status_code == 404
    assert other.get(f"{url}deliveries/").status_code == 404
    assert other.get("/api/v1/webhooks/endpoints/").json() == []
    assert owner.delete(url).status_code == 204
    assert owner.get(url).status_code == 404
    assert owner.get("/api/v1/webhooks/endpoints/we_nothex/").status_code == 404


def test_platform_endpoints_are_not_in_the_api() -> None:
    from webhooks.tests.factories import endpoint

    platform, _ = endpoint(user=None, url="https://127.0.0.1/platform")
    client = client_for(UserFactory.create())
    assert client.get("/api/v1/webhooks/endpoints/").json() == []
    assert client.get(f"/api/v1/webhooks/endpoints/{platform.endpoint_id}/").status_code == 404


def test_anonymous_callers_are_refused(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/webhooks/endpoints/").status_code == 401
    assert api_client.post("/api/v1/webhooks/endpoints/", {}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("http_allowed")
def test_the_deliveries_log_and_a_retry(receiver: Receiver) -> None:
    # given bob's endpoint that failed a delivery
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    client = client_for(bob)
    endpoint_id = create(client, url=receiver.url("/log")).json()["id"]
    receiver.answers = {"/log": [500]}
    transfer_create(sender=alice, recipient=bob.username, currency="USD", amount=Decimal("5.00"))

    # when bob reads the log
    log = client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/")

    # then it shows the failed attempt
    assert log.status_code == 200
    (entry,) = log.json()["results"]
    assert set(entry) == {"id", "event_id", "attempt", "status_code", "succeeded", "error", "duration_ms", "created_at"}
    assert (entry["attempt"], entry["status_code"], entry["succeeded"]) == (1, 500, False)
    assert entry["event_id"] == receiver.at("/log")[0].event["id"]

    # when bob asks for it again
    retry = client.post(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/{entry['id']}/retry/")

    # then it is accepted and sent again now
    assert retry.status_code == 202
    assert len(receiver.at("/log")) == 2
    assert WebhookAttempt.objects.filter(manual=True, succeeded=True).count() == 1
    missing = client.post(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/wdl_{'0' * 32}/retry/")
    assert missing.status_code == 404
    assert WebhookEndpoint.objects.get().status == EndpointStatus.ENABLED
