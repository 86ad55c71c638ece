"""OpenTelemetry tracing: off by default; on, one trace from a request through its posting to
the outbox relay and the task it hands the side effect to; the trace id on every log record."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from ledger.tests.factories import funded_wallet
from outbox.models import OutboxMessage
from vaultcore import tracing
from vaultcore.log_context import TraceIdFilter
from wallets.tests.factories import WalletFactory

EXPORTER = InMemorySpanExporter()
PROCESSOR = SimpleSpanProcessor(EXPORTER)


@pytest.fixture
def spans(settings: Settings) -> Iterator[InMemorySpanExporter]:
    """Tracing on, exporting to memory; connections reopened so their cursors are traced."""
    settings.PAYMENTS_PROVIDER = "sandbox"
    connection.close()
    assert tracing.tracing_configure(span_processor=PROCESSOR)
    EXPORTER.clear()
    try:
        yield EXPORTER
    finally:
        tracing.tracing_unconfigure()
        connection.close()
        EXPORTER.clear()


def _client_for_alice() -> APIClient:
    alice = UserFactory.create(username="alice", email="alice@example.com")
    funded_wallet(user=alice, amount="100.00")
    WalletFactory.create(user=UserFactory.create(username="bob", email="bob@example.com"), currency="USD")
    client = APIClient()
    client.default_format = "json"  # the API parses JSON only
    client.force_authenticate(alice)
    return client


def _names(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> list[str]:
    return [span.name for span in spans]


def test_tracing_is_off_unless_an_otlp_endpoint_is_set() -> None:
    # then (the suite sets no OTEL_EXPORTER_OTLP_ENDPOINT)
    assert not tracing.tracing_enabled()
    assert tracing.tracing_configure() is False
    assert tracing.trace_context_carrier() is None
    assert tracing.current_trace_id() == ""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert TraceIdFilter().filter(record) and record.trace_id == ""  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_a_transfer_request_is_one_trace_with_its_posting_and_its_sql(spans: InMemorySpanExporter) -> None:
    # given
    client = _client_for_alice()
    spans.clear()
    # when
    response = client.post("/api/v1/transactions/transfer/", {"recipient": "bob", "currency": "USD", "amount": "5.00"})
    # then
    assert response.status_code == 201
    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name.startswith("POST") and s.parent is None)
    assert "transfer" in server.name
    trace_id = server.context.trace_id
    posting = next(s for s in finished if s.name == "ledger.post")
    assert posting.context.trace_id == trace_id
    sql = [s for s in finished if s.attributes and s.attributes.get("db.system") == "postgresql"]
    assert sql and all(s.context.trace_id == trace_id for s in sql), _names(finished)
    assert {s.context.trace_id for s in finished} == {trace_id}, _names(finished)


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_is_one_trace_from_the_request_to_the_outbox_relay_and_its_task(
    spans: InMemorySpanExporter,
) -> None:
    # given (sandbox provider, eager Celery: the relay runs right after commit, in-process)
    client = _client_for_alice()
    spans.clear()
    # when
    response = client.post("/api/v1/transactions/withdraw/", {"currency": "USD", "amount": "7.00"})
    # then the request, the hold's posting, the relay of the payout request, the Celery task and
    # the payout's posting share one trace
    assert response.status_code == 201
    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name.startswith("POST") and s.parent is None)
    relay = next(s for s in finished if s.name == "outbox.relay payments.payout_request")
    task = next(s for s in finished if s.name.startswith("run/") and "payout" in s.name)
    postings = [s for s in finished if s.name == "ledger.post"]
    assert len(postings) == 2, _names(finished)
    trace_id = server.context.trace_id
    assert {relay.context.trace_id, task.context.trace_id, *(p.context.trace_id for p in postings)} == {trace_id}
    assert task.parent is not None and task.parent.span_id == relay.context.span_id
    # and the outbox row kept the context (for a relay in another process), not passed to the task
    message = OutboxMessage.objects.get(topic="payments.payout_request")
    assert message.payload[tracing.TRACE_CARRIER_KEY]["traceparent"].split("-")[1] == format(trace_id, "032x")


@pytest.mark.django_db(transaction=True)
def test_a_relay_in_another_process_continues_the_stored_trace(spans: InMemorySpanExporter) -> None:
    # given a row whose request's context was stored, relayed later with no span around it
    # (Celery beat's periodic relay in a worker)
    stored = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    OutboxMessage.objects.create(topic="tests.record", payload={"n": 1, tracing.TRACE_CARRIER_KEY: stored})
    from outbox.services import outbox_relay
    from outbox.tests import handlers

    handlers.calls.clear()
    # when
    outbox_relay()
    # then the task got its own arguments only, and ran inside the stored trace
    assert handlers.calls == [{"n": 1}]
    relay = next(s for s in spans.get_finished_spans() if s.name == "outbox.relay tests.record")
    assert format(relay.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    handlers.calls.clear()


def test_log_records_carry_the_current_trace_id(spans: InMemorySpanExporter) -> None:
    # given
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    # when
    with tracing.span("work"):
        current = tracing.current_trace_id()
        TraceIdFilter().filter(record)
    # then
    assert len(current) == 32 and record.trace_id == current  # type: ignore[attr-defined]
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    TraceIdFilter().filter(outside)
    assert outside.trace_id == ""  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_a_transfer_is_one_trace_from_the_request_through_its_posting_to_the_outbox_relay_tasks(
    spans: InMemorySpanExporter, settings: Settings
) -> None:
    # given bob has a webhook endpoint (nothing listening there: the delivery attempt fails fast),
    # so the transfer's events are handed on through the outbox
    from webhooks.tests.factories import endpoint

    settings.DEBUG = True  # plain http to 127.0.0.1 (WEBHOOK_ALLOWED_PRIVATE_NETWORKS in tests)
    client = _client_for_alice()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    endpoint(user=User.objects.get(username="bob"), url=f"http://127.0.0.1:{closed_port}/hook")
    spans.clear()
    # when
    response = client.post("/api/v1/transactions/transfer/", {"recipient": "bob", "currency": "USD", "amount": "5.00"})
    # then the request, the posting (which wrote the events), the relay of the events' dispatch,
    # its task, and the relay of the webhook delivery it queued are one trace
    assert response.status_code == 201
    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name.startswith("POST") and s.parent is None)
    posting = next(s for s in finished if s.name == "ledger.post")
    dispatch = next(s for s in finished if s.name == "outbox.relay events.dispatch")
    deliver = next(s for s in finished if s.name == "outbox.relay webhooks.deliver")
    tasks = [s for s in finished if s.name.startswith("run/")]
    assert len(tasks) >= 2, _names(finished)
    trace_id = server.context.trace_id
    assert {s.context.trace_id for s in (posting, dispatch, deliver, *tasks)} == {trace_id}
