"""Webhooks in the admin: platform endpoints added by admins (secret shown once, stored
encrypted), users' endpoints read-only, deliveries with their attempts and "send again"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.factories import AdminFactory, StaffFactory, UserFactory
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create
from webhooks.tests.receiver import Receiver, receiver_running

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_client() -> Client:
    return client_for(AdminFactory.create())


def test_an_admin_adds_a_platform_endpoint_and_sees_its_secret_once() -> None:
    # given
    client = admin_client()
    # when
    response = client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"url": "https://127.0.0.1/platform", "event_types": ["transaction.posted"], "description": "ops"},
    )
    # then
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.user is None and endpoint.event_types == ["transaction.posted"]
    match = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', response.content.decode())
    assert match is not None and match.group(1) == endpoint.secret
    assert match.group(1) not in endpoint.secret_encrypted
    # and it is never shown again
    page = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and endpoint.secret_encrypted not in page
    assert endpoint.secret not in client.get("/admin/webhooks/webhookendpoint/").content.decode()


def test_a_private_url_is_refused_in_the_form() -> None:
    response = admin_client().post(
        "/admin/webhooks/webhookendpoint/add/", {"url": "https://10.0.0.1/in", "event_types": ["*"]}
    )
    assert response.status_code == 200 and "non-public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotating_a_platform_secret_shows_the_new_one_once() -> None:
    endpoint, old = endpoint_create(user=None, url="https://127.0.0.1/p", event_types=["*"])
    response = admin_client().post(
        "/admin/webhooks/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [endpoint.pk]}
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    assert endpoint.previous_secret == old


def test_users_endpoints_are_read_only_for_admins() -> None:
    endpoint, _ = endpoint_create(user=UserFactory.create(), url="https://127.0.0.1/u", event_types=["*"])
    client = admin_client()
    assert client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").status_code == 200
    response = client.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"url": "https://127.0.0.1/other", "event_types": ["*"], "status": "enabled"},
    )
    assert response.status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.url == "https://127.0.0.1/u"


def test_staff_and_users_cannot_see_webhooks_in_the_admin() -> None:
    for user in (StaffFactory.create(), UserFactory.create()):
        client = client_for(user)
        assert client.get("/admin/webhooks/webhookendpoint/").status_code in (302, 403)
        assert client.get("/admin/webhooks/webhookdelivery/").status_code in (302, 403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("http_allowed")
def test_deliveries_show_their_attempts_and_can_be_sent_again(receiver: Receiver) -> None:
    # given a failed delivery
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint_create(user=bob, url=receiver.url("/bob"), event_types=["*"])
    receiver.answers = {"/bob": [500]}
    transfer_create(sender=alice, recipient=bob.username, currency="USD", amount=Decimal("1.00"))
    delivery = WebhookDelivery.objects.get()
    client = admin_client()
    # when an admin opens it
    page = client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").content.decode()
    # then the attempt is listed
    assert "HTTP 500" in page
    # when they send it again
    response = client.post(
        "/admin/webhooks/webhookdelivery/", {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True
    )
    # then it is delivered now
    assert "1 delivery queued again" in response.content.decode()
    assert len(receiver.at("/bob")) == 2
    assert WebhookAttempt.objects.filter(manual=True, succeeded=True).count() == 1


@pytest.fixture
def http_allowed(settings: Any) -> Any:
    settings.DEBUG = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    return settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_running()
