"""Deliveries end to end on real commits: money moves, events are written with it, the outbox
relays them after commit and a real HTTP receiver on 127.0.0.1 verifies each signature with the
``standardwebhooks`` library."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.tests.factories import UserFactory
from events.models import Event
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from outbox import services as outbox_services
from outbox.models import OutboxMessage, OutboxStatus
from outbox.services import outbox_relay_due
from vaultcore.tests.scrape import counter_value
from webhooks import services, tasks
from webhooks.models import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import DELIVER_TOPIC, RETRY_SCHEDULE, endpoint_rotate_secret, endpoint_update
from webhooks.tests.factories import endpoint
from webhooks.tests.receiver import Receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("http_allowed")]


def pay(sender: Any, recipient: Any, amount: str = "5.00") -> None:
    transfer_create(sender=sender, recipient=recipient.username, currency="USD", amount=Decimal(amount))


def shift_due_rows() -> None:
    """Time moves on: every waiting outbox row is due now (instead of sleeping until it is)."""
    OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(next_attempt_at=timezone.now())


def test_a_transfer_reaches_both_parties_endpoints_once_signed(receiver: Receiver) -> None:
    # given two users, each with an endpoint
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    _, alice_secret = endpoint(user=alice, url=receiver.url("/alice"))
    _, bob_secret = endpoint(user=bob, url=receiver.url("/bob"))
    receiver.secrets = {"/alice": [alice_secret], "/bob": [bob_secret]}

    # when alice pays bob
    pay(alice, bob, "5.00")

    # then each endpoint got its party's event once, validly signed, right after the commit
    (to_alice,) = receiver.at("/alice")
    (to_bob,) = receiver.at("/bob")
    assert to_alice.verified_with == [alice_secret] and to_bob.verified_with == [bob_secret]
    assert to_alice.event["type"] == to_bob.event["type"] == "transaction.posted"
    assert to_alice.event["data"]["object"]["direction"] == "debit"
    assert to_bob.event["data"]["object"]["direction"] == "credit"
    assert to_alice.event["data"]["object"]["id"] == to_bob.event["data"]["object"]["id"]
    assert to_alice.headers["webhook-id"] == to_alice.event["id"]
    assert Event.objects.get(public_id=to_bob.event["id"].removeprefix("evt_")).user_id == bob.pk
    # and a later relay sends nothing again
    outbox_relay_due()
    assert len(receiver.at("/alice")) == len(receiver.at("/bob")) == 1
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_failures_are_retried_on_the_schedule_until_delivered(receiver: Receiver) -> None:
    # given an endpoint answering 500 three times, then 200
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    _, secret = endpoint(user=bob, url=receiver.url("/flaky"))
    receiver.secrets = {"/flaky": [secret]}
    receiver.answers = {"/flaky": [500, 500, 500]}
    counted = {o: counter_value("vaultcore_webhook_deliveries", outcome=o) for o in ("delivered", "retrying", "failed")}

    # when a transfer reaches it, and time moves on from one retry to the next
    pay(alice, bob)
    delivery = WebhookDelivery.objects.get()
    waits = []
    for _ in range(3):
        delivery.refresh_from_db()
        last = WebhookAttempt.objects.filter(delivery=delivery).latest("id")
        assert delivery.next_attempt_at is not None
        waits.append(delivery.next_attempt_at - last.created_at)
        shift_due_rows()
        outbox_relay_due()

    # then it was delivered by the 4th attempt, after waits of 5 s, 5 min and 30 min
    delivery.refresh_from_db()
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("id"))
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 500, False),
        (4, 200, True),
    ]
    assert [round(w.total_seconds()) for w in waits] == [5, 300, 1800]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 4)
    assert all(r.verified_with == [secret] for r in receiver.at("/flaky"))
    assert len(receiver.at("/flaky")) == 4
    # and /metrics counts each attempt by its outcome
    assert {o: counter_value("vaultcore_webhook_deliveries", outcome=o) - counted[o] for o in counted} == {
        "delivered": 1,
        "retrying": 3,
        "failed": 0,
    }


def test_after_the_last_scheduled_attempt_the_delivery_fails(receiver: Receiver) -> None:
    # given an endpoint that always fails
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=receiver.url("/down"))
    receiver.answers = {"/down": [503] * 20}
    retrying, failed = (counter_value("vaultcore_webhook_deliveries", outcome=o) for o in ("retrying", "failed"))

    # when every retry comes due
    pay(alice, bob)
    for _ in range(len(RETRY_SCHEDULE)):
        shift_due_rows()
        outbox_relay_due()

    # then 8 attempts were made and the delivery is failed, with nothing left to send
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 8)
    assert len(receiver.at("/down")) == 8
    assert not OutboxMessage.objects.filter(topic=DELIVER_TOPIC, status=OutboxStatus.PENDING).exists()
    assert counter_value("vaultcore_webhook_deliveries", outcome="retrying") - retrying == 7
    assert counter_value("vaultcore_webhook_deliveries", outcome="failed") - failed == 1


def test_during_a_rotation_both_secrets_sign(receiver: Receiver) -> None:
    # given an endpoint whose secret was just rotated
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    ep, old = endpoint(user=bob, url=receiver.url("/rotating"))
    new = endpoint_rotate_secret(endpoint=ep)
    receiver.secrets = {"/rotating": [old, new]}

    # when an event is delivered
    pay(alice, bob)

    # then it carries two signatures, one valid under each secret
    (received,) = receiver.at("/rotating")
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert received.verified_with == [old, new]

    # when the overlap is over
    WebhookEndpoint.objects.filter(pk=ep.pk).update(previous_secret_expires_at=timezone.now())
    pay(alice, bob)

    # then only the new secret signs
    assert receiver.at("/rotating")[1].verified_with == [new]


def test_a_disabled_endpoint_gets_nothing(receiver: Receiver) -> None:
    # given a disabled endpoint and an enabled one
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    off, _ = endpoint(user=bob, url=receiver.url("/off"))
    endpoint_update(endpoint=off, status=EndpointStatus.DISABLED)
    endpoint(user=bob, url=receiver.url("/on"))

    # when money moves
    pay(alice, bob)
    outbox_relay_due()

    # then only the enabled endpoint received it
    assert receiver.at("/off") == []
    assert len(receiver.at("/on")) == 1


def test_an_endpoint_disabled_with_deliveries_waiting_sends_none_of_them(receiver: Receiver) -> None:
    # given a delivery waiting for its retry
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    ep, _ = endpoint(user=bob, url=receiver.url("/later-off"))
    receiver.answers = {"/later-off": [500]}
    pay(alice, bob)
    # when the owner disables the endpoint before the retry is due
    endpoint_update(endpoint=ep, status=EndpointStatus.DISABLED)
    shift_due_rows()
    outbox_relay_due()
    # then the retry is not sent and the delivery is canceled
    assert len(receiver.at("/later-off")) == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.CANCELED


def test_a_user_never_receives_another_users_events(receiver: Receiver) -> None:
    # given A's endpoint, and B paying C
    user_a = UserFactory.create()
    b = funded_wallet(amount="50.00").user
    c = funded_wallet(amount="0").user
    assert b is not None and c is not None
    endpoint(user=user_a, url=receiver.url("/a"))
    endpoint(user=c, url=receiver.url("/c"))

    # when B pays C
    pay(b, c)

    # then A's endpoint got nothing, C's got C's event
    assert receiver.at("/a") == []
    (to_c,) = receiver.at("/c")
    assert Event.objects.get(public_id=to_c.event["id"].removeprefix("evt_")).user_id == c.pk


def test_a_platform_endpoint_receives_every_users_events(receiver: Receiver) -> None:
    # given a platform endpoint (no owner) for posted transactions only
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=None, url=receiver.url("/platform"), event_types=["transaction.posted"])
    # when alice pays bob
    pay(alice, bob)
    # then it got both parties' events
    got = receiver.at("/platform")
    assert sorted(r.event["data"]["object"]["direction"] for r in got) == ["credit", "debit"]


def test_a_timeout_and_a_redirect_are_failures_and_redirects_are_not_followed(receiver: Receiver) -> None:
    # given endpoints answering too slowly and with a redirect
    receiver.slow_seconds = 2.0  # the client gives up after WEBHOOK_TIMEOUT_SECONDS = 1
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=receiver.url("/slow"))
    endpoint(user=bob, url=receiver.url("/moved"))
    receiver.answers = {"/slow": ["timeout"], "/moved": ["redirect"]}

    # when an event is delivered
    pay(alice, bob)

    # then both attempts failed, the redirect target was never called
    errors = dict(WebhookAttempt.objects.values_list("delivery__endpoint__url", "error"))
    assert errors[receiver.url("/slow")] == "timeout"
    assert errors[receiver.url("/moved")] == "HTTP 302"
    assert receiver.at("/elsewhere") == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_a_refused_connection_is_a_failed_attempt(receiver: Receiver) -> None:
    # given an endpoint where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=f"http://127.0.0.1:{port}/nobody")
    # when an event is delivered
    pay(alice, bob)
    # then the attempt failed with the reason, and a retry is scheduled
    attempt = WebhookAttempt.objects.get()
    assert (attempt.succeeded, attempt.status_code, attempt.error) == (False, None, "connection refused or unreachable")
    assert WebhookDelivery.objects.get().next_attempt_at is not None


def test_a_response_body_is_kept_to_one_kilobyte(receiver: Receiver) -> None:
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=receiver.url("/chatty"))
    receiver.answers = {"/chatty": [299]}  # answers 3,000 bytes
    pay(alice, bob)
    attempt = WebhookAttempt.objects.get()
    assert attempt.succeeded and len(attempt.response_body) == 1024


def test_an_endpoint_failing_everything_for_5_days_is_disabled_and_its_owner_emailed(receiver: Receiver) -> None:
    # given an endpoint whose deliveries have all failed since 5 days ago
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    ep, _ = endpoint(user=bob, url=receiver.url("/dead"))
    receiver.answers = {"/dead": [500] * 5}
    pay(alice, bob)
    WebhookEndpoint.objects.filter(pk=ep.pk).update(failing_since=timezone.now() - timedelta(days=5))

    # when the next attempt fails too
    shift_due_rows()
    outbox_relay_due()

    # then the endpoint is disabled and bob was told
    ep.refresh_from_db()
    assert ep.status == EndpointStatus.DISABLED
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert ep.endpoint_id in mail.outbox[0].body


def test_a_success_clears_the_failure_record(receiver: Receiver) -> None:
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    ep, _ = endpoint(user=bob, url=receiver.url("/recovering"))
    receiver.answers = {"/recovering": [500]}
    pay(alice, bob)
    ep.refresh_from_db()
    assert ep.failing_since is not None
    shift_due_rows()
    outbox_relay_due()
    ep.refresh_from_db()
    assert ep.failing_since is None and ep.status == EndpointStatus.ENABLED


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Celery with a broker (not eager) that refuses every publish."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    conf = tasks.events_dispatch.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    monkeypatch.setattr(tasks.events_dispatch, "apply_async", refuse)
    monkeypatch.setattr(tasks.webhook_deliver, "apply_async", refuse)
    monkeypatch.setattr(outbox_services, "_broker_down_until", 0.0)
    try:
        yield
    finally:
        conf.task_always_eager = eager


def test_with_the_broker_down_events_are_written_and_delivered_when_it_is_back(
    receiver: Receiver, broker_down: None, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # given an endpoint
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=receiver.url("/patient"))

    # when three transfers commit while the broker is unreachable
    for _ in range(3):
        pay(alice, bob, "1.00")

    # then the money moved and the events are written, nothing was delivered, nothing failed
    assert Event.objects.filter(user=bob, type="transaction.posted").count() == 3
    assert receiver.at("/patient") == []
    assert not OutboxMessage.objects.filter(status=OutboxStatus.FAILED).exists()

    # when the broker is back (eager here) and the periodic relay runs
    monkeypatch.undo()
    tasks.events_dispatch.app.conf.task_always_eager = True
    shift_due_rows()
    outbox_relay_due()

    # then every event reached the endpoint exactly once
    assert sorted(r.event["sequence"] for r in receiver.at("/patient")) == [1, 2, 3]


def test_the_url_is_checked_again_at_delivery_and_the_checked_address_is_used(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # given an endpoint named by a host name that resolves to the receiver's (allowed) address
    real = socket.getaddrinfo
    resolved = {"hooks.test": "127.0.0.1"}

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        return real(resolved.get(host, host), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    port = receiver.server.server_address[1]
    endpoint(user=bob, url=f"http://hooks.test:{port}/named")

    # when a delivery is made
    pay(alice, bob)

    # then it went to the checked address with the URL's host in Host
    (received,) = receiver.at("/named")
    assert received.headers["host"] == f"hooks.test:{port}"

    # when the name now resolves to an address outside the allowed networks (DNS rebinding)
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    resolved["hooks.test"] = "127.0.0.2"
    pay(alice, bob)

    # then nothing is sent and the attempt records why
    assert len(receiver.at("/named")) == 1
    failed = WebhookAttempt.objects.filter(succeeded=False).get()
    assert failed.status_code is None and failed.error.startswith("URL not allowed")


def test_an_error_inside_the_sender_is_recorded_and_retried(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a sender that breaks once
    real = services._send
    calls: list[int] = []

    def broken_once(delivery: Any, *, now: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return real(delivery, now=now)

    monkeypatch.setattr(services, "_send", broken_once)
    alice = funded_wallet(amount="50.00").user
    bob = funded_wallet(amount="0").user
    assert alice is not None and bob is not None
    endpoint(user=bob, url=receiver.url("/fragile"))
    # when an event is delivered, and the retry comes due
    pay(alice, bob)
    shift_due_rows()
    outbox_relay_due()
    # then the first attempt is recorded as failed, the second delivered it, nothing stays leased
    errors = list(WebhookAttempt.objects.order_by("id").values_list("error", "succeeded"))
    assert errors == [("internal error (RuntimeError)", False), ("", True)]
    assert WebhookEndpoint.objects.get().busy_until is None
    assert len(receiver.at("/fragile")) == 1
