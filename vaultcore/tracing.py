"""OpenTelemetry tracing: on only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Off (the default), nothing is imported or instrumented: :func:`span` is a ``nullcontext``,
:func:`trace_context_carrier` returns nothing and the log filter writes an empty ``trace_id``.

On, :func:`tracing_configure` (``VaultCoreConfig.ready``, so the web process, ``manage.py``
commands and Celery workers alike) installs an SDK tracer provider exporting over OTLP/HTTP and
instruments Django (a server span per request), psycopg (a client span per SQL statement, through
each new connection's cursor class: vaultcore/db.py gives connections their own cursor class, so
the stock ``connect`` wrapper would be undone), Celery (publish and run spans, the context carried
in the message headers) and Redis.

One trace from a request to its side effects: ``outbox_enqueue`` stores the current context
(W3C ``traceparent``) with the outbox row, and the relay hands the row to its task inside a span
that continues that context, whether the relay runs right after commit, minutes later from Celery
beat, or in another process; Celery's instrumentation then carries it to the worker in the task's
headers. The carrier never reaches the task's arguments.

This module imports no app.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from django.conf import settings

logger = logging.getLogger("vaultcore.tracing")

# The outbox payload key holding the enqueuing request's trace context (stripped before the task).
TRACE_CARRIER_KEY = "_trace"

_state: dict[str, Any] = {"enabled": False, "provider": None, "processors": []}


def tracing_enabled() -> bool:
    return bool(_state["enabled"])


def tracing_configure(*, span_processor: Any = None) -> bool:
    """Install the tracer provider and the instrumentations once per process when
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or a ``span_processor`` is given: tests pass an
    in-memory exporter's); returns whether tracing is on."""
    if _state["enabled"]:
        return True
    if span_processor is None and not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = _state["provider"]
    if provider is None:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.OTEL_SERVICE_NAME}))
        trace.set_tracer_provider(provider)
        _state["provider"] = provider
    if span_processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, _TIMEOUT...) itself.
        span_processor = BatchSpanProcessor(OTLPSpanExporter())
    if span_processor not in _state["processors"]:
        provider.add_span_processor(span_processor)
        _state["processors"].append(span_processor)
    DjangoInstrumentor().instrument(tracer_provider=provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _state["enabled"] = True
    logger.info("OpenTelemetry tracing on (OTLP endpoint %s)", settings.OTEL_EXPORTER_OTLP_ENDPOINT or "in-process")
    return True


def tracing_unconfigure() -> None:
    """Undo the instrumentations (tests); the provider stays, spans stop being recorded by them."""
    if not _state["enabled"]:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    DjangoInstrumentor().uninstrument()
    CeleryInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()
    _state["enabled"] = False


_NO_SPAN = contextlib.nullcontext()


def span(name: str, *, carrier: Mapping[str, str] | None = None, **attributes: Any) -> AbstractContextManager[Any]:
    """A span around the block (a shared no-op when tracing is off); with ``carrier`` (from
    :func:`trace_context_carrier`), it continues that trace instead of the current one."""
    if not _state["enabled"]:
        return _NO_SPAN
    return _span(name, carrier, attributes)


@contextlib.contextmanager
def _span(name: str, carrier: Mapping[str, str] | None, attributes: dict[str, Any]) -> Iterator[None]:
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    parent = extract(dict(carrier)) if carrier else None
    tracer = trace.get_tracer("vaultcore")
    with tracer.start_as_current_span(name, context=parent, attributes=attributes or None):
        yield


def trace_context_carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (``traceparent``), or None when tracing is off or
    no span is active."""
    if not _state["enabled"]:
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier or None


def current_trace_id() -> str:
    """The current trace id (32 hex digits), or "" when tracing is off or no span is active."""
    if not _state["enabled"]:
        return ""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


# --- psycopg: spans per statement, on whatever cursor class the connection uses -------------------
_CONNECTION_ATTRIBUTES = {"database": "info.dbname", "port": "info.port", "host": "info.host", "user": "info.user"}


def trace_database_cursors(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver (vaultcore.apps, after ``use_preparing_cursors``): the
    connection's cursor class, traced by OpenTelemetry's psycopg integration."""
    if not _state["enabled"] or connection.vendor != "postgresql":
        return
    import psycopg
    from opentelemetry.instrumentation.dbapi import CursorTracer
    from opentelemetry.instrumentation.psycopg import DatabaseApiIntegration

    raw = connection.connection
    if getattr(raw.cursor_factory, "vaultcore_traced", False):
        return
    integration = DatabaseApiIntegration(
        "vaultcore.db",
        "postgresql",
        connection_attributes=_CONNECTION_ATTRIBUTES,
        tracer_provider=_state["provider"],
        connect_module=psycopg,  # type: ignore[arg-type]
    )
    integration.get_connection_attributes(raw)
    raw.cursor_factory = _traced_cursor_class(raw.cursor_factory or psycopg.Cursor, CursorTracer(integration))


def _traced_cursor_class(base: type, tracer: Any) -> type:
    class TracedCursor(base):
        vaultcore_traced = True

        def execute(self, *args: Any, **kwargs: Any) -> Any:
            return tracer.traced_execution(self, super().execute, *args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> Any:
            return tracer.traced_execution(self, super().executemany, *args, **kwargs)

    TracedCursor.__name__ = f"Traced{base.__name__}"
    return TracedCursor
