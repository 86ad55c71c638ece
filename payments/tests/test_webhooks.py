import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from outbox.models import OutboxMessage, OutboxStatus
from payments import stripe_events
from payments.exceptions import StripeEventNotRetryable
from payments.models import BankAccount, StripeEvent, StripeEventStatus
from payments.services import (
    bank_account_create,
    stripe_event_process,
    stripe_event_retry,
    stripe_events_requeue_stale,
)
from payments.tests.factories import StripeEventFactory
from payments.tests.signing import TEST_WEBHOOK_SECRET, signed_delivery, stripe_signature_header
from payments.tests.stripe_standin import StripeStandIn

URL = "/api/v1/payments/stripe/webhook/"


def _event(event_type: str = "payment_intent.succeeded", **kwargs: Any) -> dict[str, Any]:
    return StripeStandIn.event(event_type, {"id": "pi_123", "object": "payment_intent", "amount": 1050}, **kwargs)


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """Register a recording handler for an event type; returns the list of handled event ids."""

    def register(event_type: str, fail: Exception | None = None) -> list[str]:
        seen: list[str] = []

        def handler(event: StripeEvent) -> str:
            if fail is not None:
                raise fail
            seen.append(event.stripe_id)
            return "handled in test"

        monkeypatch.setitem(stripe_events._HANDLERS, event_type, handler)
        return seen

    return register


@pytest.mark.django_db
def test_signed_event_is_stored_and_processed_once(
    api_client: APIClient,
    webhook_secret: str,
    handled: Callable[..., list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    seen = handled("payment_intent.succeeded")
    event = _event()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, **signed_delivery(event))

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {"id": event["id"], "duplicate": False}
    stored = StripeEvent.objects.get()
    assert (stored.stripe_id, stored.type, stored.status) == (event["id"], event["type"], StripeEventStatus.PROCESSED)
    assert stored.payload == event
    assert stored.attempts == 1
    assert stored.note == "handled in test"
    assert stored.processed_at is not None
    assert seen == [event["id"]]


@pytest.mark.django_db
def test_duplicate_delivery_is_200_and_changes_nothing(
    api_client: APIClient,
    webhook_secret: str,
    handled: Callable[..., list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    seen = handled("payout.paid")
    event = _event("payout.paid")
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(URL, **signed_delivery(event))

    # when: Stripe delivers it again (a fresh signature, as Stripe does on retries)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(URL, **signed_delivery(event, timestamp=int(time.time()) + 1))

    # then
    assert response.status_code == 200
    assert response.json() == {"id": event["id"], "duplicate": True}
    assert StripeEvent.objects.count() == 1
    assert callbacks == []
    assert seen == [event["id"]]


@pytest.mark.django_db
def test_replayed_identical_request_within_tolerance_is_a_duplicate(
    api_client: APIClient, webhook_secret: str, django_capture_on_commit_callbacks: Any
) -> None:
    # given: an attacker captures a delivery and replays it byte for byte
    kwargs = signed_delivery(_event())
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(URL, **kwargs)

    # when
    response = api_client.post(URL, **kwargs)

    # then
    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1


def _assert_refused(response: Any, code: str = "invalid_signature") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["code"] == code
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_forged_signature_is_refused_and_nothing_stored(api_client: APIClient, webhook_secret: str) -> None:
    # when
    response = api_client.post(URL, **signed_delivery(_event(), secret="whsec_attacker_guess"))

    # then
    _assert_refused(response)
    assert TEST_WEBHOOK_SECRET not in response.content.decode()


@pytest.mark.django_db
def test_missing_signature_is_refused(api_client: APIClient, webhook_secret: str) -> None:
    _assert_refused(api_client.post(URL, data=json.dumps(_event()), content_type="application/json"))


@pytest.mark.django_db
def test_stale_signature_is_refused(api_client: APIClient, webhook_secret: str) -> None:
    # given: signed 301 s ago (the tolerance is 300 s)
    old = int(time.time()) - 301

    # when / then
    _assert_refused(api_client.post(URL, **signed_delivery(_event(), timestamp=old)))


@pytest.mark.django_db
def test_replay_of_an_old_delivery_is_refused(api_client: APIClient, webhook_secret: str) -> None:
    # given: a delivery that was valid when Stripe sent it, 10 minutes ago, replayed now
    kwargs = signed_delivery(_event(), timestamp=int(time.time()) - 600)

    # when / then
    _assert_refused(api_client.post(URL, **kwargs))


@pytest.mark.django_db
def test_body_changed_after_signing_is_refused(api_client: APIClient, webhook_secret: str) -> None:
    # given
    event = _event()
    header = stripe_signature_header(json.dumps(event))
    event["data"]["object"]["amount"] = 999999

    # when
    response = api_client.post(
        URL, data=json.dumps(event), content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    # then
    _assert_refused(response)


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"id": "evt_1", "object": "charge"})])
def test_signed_body_that_is_not_an_event_is_refused(api_client: APIClient, webhook_secret: str, body: str) -> None:
    # when
    response = api_client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature_header(body)
    )

    # then
    _assert_refused(response, code="invalid_payload")


@pytest.mark.django_db
def test_oversized_body_is_a_413_and_nothing_stored(webhook_secret: str, settings: SettingsWrapper) -> None:
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({**_event(), "padding": "x" * 20_000})

    # when
    response = APIClient(raise_request_exception=False).post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_signature_header(body)
    )

    # then
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_without_a_configured_secret_every_delivery_is_503(settings: SettingsWrapper) -> None:
    # given
    settings.STRIPE_WEBHOOK_SECRET = ""
    api_client = APIClient(raise_request_exception=False)

    # when: even a body "signed" with the empty secret
    response = api_client.post(URL, **signed_delivery(_event(), secret=""))

    # then
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_unknown_event_type_is_marked_processed_with_a_note(
    api_client: APIClient, webhook_secret: str, django_capture_on_commit_callbacks: Any
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(URL, **signed_delivery(_event("customer.created")))

    # then
    stored = StripeEvent.objects.get()
    assert stored.status == StripeEventStatus.PROCESSED
    assert stored.note.startswith("Ignored: no handler")


@pytest.mark.django_db
def test_failing_handler_marks_the_event_failed_with_the_error(handled: Callable[..., list[str]]) -> None:
    # given
    handled("payout.failed", fail=RuntimeError("ledger said no"))
    event = StripeEventFactory.create(type="payout.failed")

    # when
    result = stripe_event_process(event_id=event.pk)

    # then
    assert result is not None
    assert result.status == StripeEventStatus.FAILED
    assert result.error == "RuntimeError: ledger said no"
    assert result.attempts == 1
    assert result.locked_until is None and result.claim_token is None
    assert result.processed_at is None


@pytest.mark.django_db(transaction=True)
def test_handlers_run_outside_any_transaction_so_they_can_call_durable_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a handler calling a top-level service that opens a durable atomic block
    owner = UserFactory.create()

    def handler(event: StripeEvent) -> str:
        account = bank_account_create(
            owner=owner,
            account_holder_name="Durable Test",
            bank_name="Bank",
            account_number="000123456789",
            routing_number="110000000",
            country="US",
            currency="USD",
        )
        return f"created {account.pk}"

    monkeypatch.setitem(stripe_events._HANDLERS, "payment_intent.succeeded", handler)
    event = StripeEventFactory.create(type="payment_intent.succeeded")

    # when
    result = stripe_event_process(event_id=event.pk)

    # then
    assert result is not None
    assert result.status == StripeEventStatus.PROCESSED, result.error
    assert BankAccount.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_run_the_handler_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a slow handler and four workers picking up the same event at once
    calls: list[int] = []

    def slow_handler(event: StripeEvent) -> None:
        calls.append(event.pk)
        time.sleep(0.5)

    monkeypatch.setitem(stripe_events._HANDLERS, "payout.paid", slow_handler)
    event = StripeEventFactory.create(type="payout.paid")
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            stripe_event_process(event_id=event.pk)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then
    assert calls == [event.pk]
    event.refresh_from_db()
    assert (event.status, event.attempts) == (StripeEventStatus.PROCESSED, 1)


@pytest.mark.django_db
def test_event_of_a_worker_that_died_mid_handler_is_processed_after_its_lease_expires(
    handled: Callable[..., list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    # given: a worker leased the event, then died (lease still running)
    seen = handled("payout.paid")
    event = StripeEventFactory.create(type="payout.paid")
    StripeEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=30),
        attempts=1,
        claim_token=uuid.uuid4(),
        locked_until=timezone.now() + timedelta(minutes=5),
    )

    # when: the sweeper runs while the lease is live, then after it expired
    while_leased = stripe_events_requeue_stale(older_than_seconds=300)
    StripeEvent.objects.filter(pk=event.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        after_expiry = stripe_events_requeue_stale(older_than_seconds=300)

    # then
    assert (while_leased, after_expiry) == (0, 1)
    event.refresh_from_db()
    assert event.status == StripeEventStatus.PROCESSED
    assert event.attempts == 2
    assert seen == [event.stripe_id]


@pytest.mark.django_db
def test_failed_event_retry_processes_it_again(
    handled: Callable[..., list[str]], django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: an event whose handler failed once
    handled("charge.refunded", fail=RuntimeError("temporarily broken"))
    event = StripeEventFactory.create(type="charge.refunded")
    stripe_event_process(event_id=event.pk)
    seen = handled("charge.refunded")  # the handler is fixed

    # when
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_retry(event=event)

    # then
    event.refresh_from_db()
    assert event.status == StripeEventStatus.PROCESSED
    assert event.attempts == 2
    assert event.error == ""
    assert seen == [event.stripe_id]


@pytest.mark.django_db
@pytest.mark.parametrize("leased", [False, True], ids=["processed", "received-being-processed"])
def test_processed_events_and_events_being_processed_cannot_be_retried(leased: bool) -> None:
    # given a processed event, or a received one a live worker holds
    if leased:
        event = StripeEventFactory.create(
            status=StripeEventStatus.RECEIVED, locked_until=timezone.now() + timedelta(seconds=30)
        )
    else:
        event = StripeEventFactory.create(status=StripeEventStatus.PROCESSED)

    # when / then
    with pytest.raises(StripeEventNotRetryable):
        stripe_event_retry(event=event)
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_an_event_stuck_in_received_can_be_retried(
    handled: Callable[..., list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    # given an event left received: its worker died and the lease expired
    seen = handled("payout.paid")
    event = StripeEventFactory.create(
        type="payout.paid", attempts=1, locked_until=timezone.now() - timedelta(seconds=1)
    )

    # when an operator retries it
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_retry(event=event)

    # then it is processed through the outbox
    event.refresh_from_db()
    assert event.status == StripeEventStatus.PROCESSED
    assert seen == [event.stripe_id]
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


@pytest.mark.django_db
def test_processing_twice_runs_the_handler_once(handled: Callable[..., list[str]]) -> None:
    # given
    seen = handled("payout.canceled")
    event = StripeEventFactory.create(type="payout.canceled")

    # when
    stripe_event_process(event_id=event.pk)
    stripe_event_process(event_id=event.pk)

    # then
    assert seen == [event.stripe_id]
    event.refresh_from_db()
    assert event.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_and_process_once(
    webhook_secret: str, handled: Callable[..., list[str]]
) -> None:
    # given: Stripe (or a replayer) sends the same event on 6 connections at once
    seen = handled("payment_intent.payment_failed")
    kwargs = signed_delivery(_event("payment_intent.payment_failed"))
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            barrier.wait()
            statuses.append(Client().post(URL, **kwargs).status_code)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then
    assert statuses == [200] * 6
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().status == StripeEventStatus.PROCESSED
    assert len(seen) == 1
