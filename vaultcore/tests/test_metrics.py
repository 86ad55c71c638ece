"""GET /metrics: who may read it, what the request metrics look like, multiprocess mode."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from vaultcore.metrics import _allowed_networks
from vaultcore.tests.live_server import ROOT, database_env, free_port, server_env
from vaultcore.tests.scrape import counter_value, sample, scraped

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _metrics_access(settings: Settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "fd00::1"]
    _allowed_networks.cache_clear()


@pytest.mark.django_db
def test_the_bearer_token_reads_the_metrics_in_prometheus_text_format(client: Client) -> None:
    # when
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert "# TYPE vaultcore_http_requests_total counter" in body
    assert "# TYPE vaultcore_outbox_messages gauge" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "remote_addr"),
    [
        ({}, "127.0.0.1"),
        ({"HTTP_AUTHORIZATION": "Bearer wrong-token"}, "127.0.0.1"),
        ({"HTTP_AUTHORIZATION": TOKEN}, "127.0.0.1"),  # no "Bearer"
        ({"HTTP_AUTHORIZATION": f"Basic {TOKEN}"}, "127.0.0.1"),
        ({"HTTP_X_FORWARDED_FOR": "10.1.2.3"}, "192.0.2.7"),  # a forwarded address is not the peer
        ({}, "10.2.0.1"),
        ({}, "not-an-address"),
    ],
)
def test_anyone_else_gets_the_contract_s_404(client: Client, headers: dict[str, str], remote_addr: str) -> None:
    # when
    response = client.get("/metrics", REMOTE_ADDR=remote_addr, **headers)  # type: ignore[arg-type]
    # then
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert b"vaultcore_" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("remote_addr", ["10.1.200.3", "fd00::1"])
def test_an_allowed_address_reads_the_metrics_without_a_token(client: Client, remote_addr: str) -> None:
    response = client.get("/metrics", REMOTE_ADDR=remote_addr)
    assert response.status_code == 200


@pytest.mark.django_db
def test_without_a_token_configured_a_bearer_header_opens_nothing(client: Client, settings: Settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_requests_are_counted_by_route_pattern_never_by_raw_path(client: Client) -> None:
    # given
    route = "api/v1/transactions/<uuid:id>/"
    before = counter_value("vaultcore_http_requests", route=route, method="GET", status="401")
    unmatched = counter_value("vaultcore_http_requests", route="<unmatched>", method="GET", status="404")
    # when two transactions' pages are asked for (anonymous: 401) and a path that matches nothing
    client.get("/api/v1/transactions/0b7e1f0c-9d4e-4a59-9c55-2b2d7c1e8a01/")
    client.get("/api/v1/transactions/5f0c6a8e-1b2c-4d3e-8f90-0a1b2c3d4e5f/")
    client.get("/no/such/page/12345")
    # then
    assert counter_value("vaultcore_http_requests", route=route, method="GET", status="401") == before + 2
    assert counter_value("vaultcore_http_requests", route="<unmatched>", method="GET", status="404") == unmatched + 1
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "0b7e1f0c" not in body and "12345" not in body
    samples = scraped(body)
    assert sample(samples, "vaultcore_http_request_duration_seconds_count", route=route, method="GET") >= 2


@pytest.mark.django_db
def test_database_queries_and_cache_lookups_are_counted(client: Client) -> None:
    # given
    queries = counter_value("vaultcore_db_queries", alias="default", outcome="ok")
    # when
    client.get("/readyz")
    # then
    assert counter_value("vaultcore_db_queries", alias="default", outcome="ok") > queries


def test_the_cache_backends_count_hits_and_misses() -> None:
    # given the production cache backends' counting, over a local-memory store
    from django.core.cache.backends.locmem import LocMemCache

    from vaultcore.cache import _Counted

    class Counted(_Counted, LocMemCache):
        pass

    cache = Counted("metrics-test", {})
    misses = counter_value("vaultcore_cache_requests", operation="get", result="miss")
    hits = counter_value("vaultcore_cache_requests", operation="get", result="hit")
    sets = counter_value("vaultcore_cache_requests", operation="set", result="ok")
    # when
    assert cache.get("k", "default") == "default"
    cache.set("k", None)
    assert cache.get("k", "default") is None  # a stored None is a hit
    # then
    assert counter_value("vaultcore_cache_requests", operation="get", result="miss") == misses + 1
    assert counter_value("vaultcore_cache_requests", operation="get", result="hit") == hits + 1
    assert counter_value("vaultcore_cache_requests", operation="set", result="ok") == sets + 1


@pytest.mark.django_db(transaction=True)
def test_under_gunicorn_every_worker_s_requests_are_counted(tmp_path: Path) -> None:
    # given gunicorn with 2 workers, multiprocess metrics in a folder of this test
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = server_env(
        {
            **database_env(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": "metrics-test-" + "x" * 50,
            "ALLOW_EMBEDDED_POSTGRES": "True",
            "SECURE_SSL_REDIRECT": "False",
            "PAYMENTS_PROVIDER": "sandbox",
            "ALLOW_SANDBOX_PROVIDER": "True",
            "ENCRYPTION_KEYS": "test1:dmF1bHRjb3JlLXRlc3Qtb25seS1hZXMta2V5LTAwMDE=",
            "METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_ACCESSLOG": "",
        }
    )
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "vaultcore.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(port, proc, log)
        # when 40 requests, one connection each (sync workers), are spread over the workers
        for _ in range(40):
            assert _get(port, "/healthz")[0] == 200
        # then the scrape, whichever worker serves it, counts all 40 (+ the start-up probe's one)
        # and both workers wrote their files
        status, body = _get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body
        samples = scraped(body)
        assert sample(samples, "vaultcore_http_requests_total", route="healthz", method="GET", status="200") == 41
        pids = {m.group(1) for m in (re.search(r"_(\d+)\.db$", p.name) for p in metrics_dir.iterdir()) if m}
        assert len(pids) >= 2, sorted(p.name for p in metrics_dir.iterdir())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_for(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if _get(port, "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.mark.django_db
def test_a_failing_scrape_time_collector_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a collector whose query fails
    from vaultcore import metrics

    def broken() -> list[object]:
        raise RuntimeError("database went away")

    monkeypatch.setitem(metrics._SCRAPE_COLLECTORS, "broken", broken)
    # when
    samples = scraped()
    # then the others still answer
    assert sample(samples, "vaultcore_scrape_collector_up", collector="broken") == 0
    assert sample(samples, "vaultcore_scrape_collector_up", collector="outbox_backlog") == 1


@pytest.mark.django_db(transaction=True)
def test_webhook_deliveries_are_counted_by_outcome_after_commit() -> None:
    # given
    from django.db import transaction

    from vaultcore.metrics import webhook_delivery_record

    delivered = counter_value("vaultcore_webhook_deliveries", outcome="delivered")
    failed = counter_value("vaultcore_webhook_deliveries", outcome="failed")
    # when one attempt commits and another rolls back
    with transaction.atomic():
        webhook_delivery_record(outcome="delivered")
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_delivery_record(outcome="failed")
        raise RuntimeError("rolled back")
    # then
    assert counter_value("vaultcore_webhook_deliveries", outcome="delivered") == delivered + 1
    assert counter_value("vaultcore_webhook_deliveries", outcome="failed") == failed


def test_a_celery_worker_serves_its_own_counters_with_the_same_access_rules() -> None:
    # given a worker's endpoint, and a posting counted in this (worker) process
    from vaultcore.metrics import TRANSACTIONS_POSTED, worker_metrics_server_start

    TRANSACTIONS_POSTED.labels("deposit", "JPY").inc()
    server = worker_metrics_server_start(host="127.0.0.1", port=0)
    port = server.server_port
    try:
        # when / then: the token reads the counters, without the database gauges
        status, body = _get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        samples = scraped(body)
        assert sample(samples, "vaultcore_transactions_posted_total", type="deposit", currency="JPY") >= 1
        assert "vaultcore_outbox_messages" not in body
        # anyone else, or another path, gets 404
        assert _get(port, "/metrics")[0] == 404
        assert _get(port, "/metrics", {"Authorization": "Bearer nope"})[0] == 404
        assert _get(port, "/other", {"Authorization": f"Bearer {TOKEN}"})[0] == 404
    finally:
        server.shutdown()
        server.server_close()
