"""Tracing across processes: a request served by gunicorn and the task a Celery worker runs for
its outbox row, through a real Redis broker, are one trace; both processes export over real
OTLP/HTTP to a receiver in this test. The worker's own metrics endpoint is checked on the way."""

from __future__ import annotations

import gzip
import http.client
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from vaultcore.tests.live_server import REDIS_SERVER, database_env, free_port, process, redis_argv, server_env, wait_for


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    service: str


class _Receiver(BaseHTTPRequestHandler):
    spans: list[ReceivedSpan]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), ""
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            span.name, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), service
                        )
                    )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[ReceivedSpan]]]:
    spans: list[ReceivedSpan] = []
    handler = type("Receiver", (_Receiver,), {"spans": spans})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()
        server.server_close()


def answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")
@pytest.mark.django_db(transaction=True)
def test_a_request_and_the_task_a_worker_runs_for_its_outbox_row_are_one_trace(tmp_path: Path) -> None:
    # given our own Redis, an OTLP receiver, gunicorn and a Celery worker with tracing on
    redis_port, web_port = free_port(), free_port()
    logs = [tmp_path / "redis.log", tmp_path / "web.log", tmp_path / "worker.log"]
    with otlp_receiver() as (endpoint, spans):
        env = server_env(
            {
                **database_env(),
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECRET_KEY": "tracing-test-" + "x" * 50,
                "SECURE_SSL_REDIRECT": "False",
                "PAYMENTS_PROVIDER": "sandbox",
                "ALLOW_SANDBOX_PROVIDER": "True",
                "ENCRYPTION_KEYS": "test1:dmF1bHRjb3JlLXRlc3Qtb25seS1hZXMta2V5LTAwMDE=",
                "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
                "THROTTLE_AUTH_RATE": "off",
                "GUNICORN_BIND": f"127.0.0.1:{web_port}",
                "GUNICORN_WORKERS": "1",
                "GUNICORN_ACCESSLOG": "",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            }
        )
        worker_argv = [sys.executable, "-m", "celery", "-A", "vaultcore", "worker", "-P", "solo", "-l", "INFO"]
        # The worker also serves its own counters (its own multiprocess folder, not gunicorn's).
        worker_metrics_port, worker_metrics_dir = free_port(), tmp_path / "worker-metrics"
        worker_metrics_dir.mkdir()
        worker_env = {
            **env,
            "CELERY_WORKER_METRICS_BIND": f"127.0.0.1:{worker_metrics_port}",
            "PROMETHEUS_MULTIPROC_DIR": str(worker_metrics_dir),
            "METRICS_TOKEN": "worker-metrics-token",
        }
        web_argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "vaultcore.wsgi:application"]
        with (
            process(redis_argv(redis_port), env, logs[0]),
            process(worker_argv, worker_env, logs[2]),
            process(web_argv, env, logs[1]),
        ):
            wait_for(lambda: answers(web_port), "gunicorn", logs)
            wait_for(lambda: "ready." in logs[2].read_text(), "the Celery worker", logs)

            # when a request writes an outbox row (a password reset email)
            conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
            body = json.dumps({"email": "nobody-here@example.com"})
            conn.request("POST", "/api/v1/auth/forgot-password/", body, {"Content-Type": "application/json"})
            assert conn.getresponse().status == 202

            # then the worker ran its task, and the spans of both processes reached the receiver
            task = "accounts.tasks.password_reset_email_send"

            def task_span() -> ReceivedSpan | None:
                return next((s for s in spans if s.name == f"run/{task}"), None)

            wait_for(task_span, "the worker's task span", logs)
            run_span = task_span()
            assert run_span is not None
            server = next(s for s in spans if s.name.startswith("POST") and "forgot-password" in s.name)
            relay = next(s for s in spans if s.name == "outbox.relay accounts.password_reset_email")
            publish = next(s for s in spans if s.name == f"apply_async/{task}")
            # one trace: request -> relay (after commit) -> publish -> (broker) -> the worker's run
            assert {server.trace_id, relay.trace_id, publish.trace_id, run_span.trace_id} == {server.trace_id}
            assert relay.parent_span_id == server.span_id
            assert publish.parent_span_id == relay.span_id
            assert run_span.parent_span_id == publish.span_id
            assert server.service == run_span.service == "vaultcore"

            # and the worker's own endpoint counts the SQL its task ran
            conn = http.client.HTTPConnection("127.0.0.1", worker_metrics_port, timeout=10)
            conn.request("GET", "/metrics", headers={"Authorization": "Bearer worker-metrics-token"})
            response = conn.getresponse()
            assert response.status == 200
            assert 'vaultcore_db_queries_total{alias="default",outcome="ok"}' in response.read().decode()
