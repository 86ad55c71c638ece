"""Debian's real Prometheus against the live app, with the repo's configuration.

1. ``promtool check rules deploy/prometheus/alerts.yml``, ``promtool test rules`` (the alerts'
   unit tests, alerts_test.yml) and ``promtool check config`` on the repo's prometheus.yml with
   only its target and token file replaced (and a short interval).
2. A throwaway database (migrated, seeded by ``seed_demo``), gunicorn with 2 workers and
   ``METRICS_TOKEN``, and ``prometheus`` on spare loopback ports.
3. Through Prometheus's HTTP API: the scrape target is up, the alert rules are loaded, every
   query of the Grafana dashboard is valid PromQL and returns data (no misspelt metric), and a
   transfer made over HTTP moves ``vaultcore_transactions_posted_total{type="transfer"}``.

Environment: DATABASE_URL (server to create the database on; default local PostgreSQL),
PROMETHEUS_CHECK_DATABASE_NAME, PROMETHEUS (binary, default /usr/bin/prometheus), PROMTOOL.
Exits non-zero on any failure, printing the server logs.
"""

# The commands and URLs below are this script's own (loopback servers, Debian's binaries).
# ruff: noqa: S603

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from live import (
    ROOT,
    access_token,
    database_urls,
    free_port,
    http_json,
    log,
    manage,
    production_env,
    recreate_database,
    start_gunicorn,
    start_process,
    stop_process,
)

PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
TRANSFERS = 'sum(vaultcore_transactions_posted_total{type="transfer"}) or vector(0)'


def run(*command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(list(command), cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_until(what: str, check: Callable[[], Any], procs: list[subprocess.Popen[bytes]], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a server exited ({proc.args!r}, {proc.returncode}) while waiting for {what}")
        try:
            last = check()
            if last:
                return last
        except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what} (last: {last!r})")


def query(prom: str, expr: str) -> float:
    answer = http_json(f"{prom}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert answer["status"] == "success", answer
    return float(answer["data"]["result"][0]["value"][1])


def dashboard_queries_check(prom: str) -> None:
    """Each query of deploy/grafana/dashboards/vaultcore.json parses, and names only metrics that
    exist: every metric name in it has a series (rate() windows may still be empty this early)."""
    import re

    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/vaultcore.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    names: set[str] = set()
    for expr in exprs:
        answer = http_json(f"{prom}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        assert answer["status"] == "success", (expr, answer)
        names.update(re.findall(r"\b(vaultcore_[a-z_]+)", expr))
    known = set(http_json(f"{prom}/api/v1/label/__name__/values")["data"])
    # Counters appear once bumped: no webhook is delivered, no key replayed, and with throttles off
    # nothing here uses the cache.
    not_yet = {
        "vaultcore_webhook_deliveries_total",
        "vaultcore_idempotent_replays_total",
        "vaultcore_cache_requests_total",
    }
    missing = sorted(names - known - not_yet)
    assert not missing, f"dashboard queries name metrics Prometheus never scraped: {missing}"
    log(f"{len(exprs)} dashboard queries valid ({len(names)} metric names)")


def scrape_config(app_port: int, token_file: Path) -> str:
    """The repo's prometheus.yml with only the target, the token file and the intervals changed."""
    text = (ROOT / "deploy/prometheus/prometheus.yml").read_text()
    replaced = (
        text.replace('"web:8000"', f'"127.0.0.1:{app_port}"')
        .replace("/etc/prometheus/metrics_token", str(token_file))
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
    )
    # (The worker job's target stays as it is: no Celery worker runs here, that target is down.)
    assert replaced.count(f"127.0.0.1:{app_port}") == 1 and str(token_file) in replaced, "config layout changed"
    return replaced


def main() -> int:
    for binary in (PROMETHEUS, PROMTOOL):
        if not Path(binary).exists():
            print(f"{binary} is missing: apt-get install -y prometheus", file=sys.stderr)
            return 1
    name = os.environ.get("PROMETHEUS_CHECK_DATABASE_NAME", "vaultcore_prometheus_check")
    base_url, database_url = database_urls(name)
    work = Path(tempfile.mkdtemp(prefix="vaultcore-prometheus-"))
    token = secrets.token_urlsafe(32)
    token_file = work / "metrics_token"
    token_file.write_text(token)
    metrics_dir = work / "multiproc"
    metrics_dir.mkdir()
    app_port, prom_port = free_port(), free_port()
    config = work / "prometheus.yml"
    config.write_text(scrape_config(app_port, token_file))
    shutil.copy(ROOT / "deploy/prometheus/alerts.yml", work / "alerts.yml")
    app: subprocess.Popen[bytes] | None = None
    prom: subprocess.Popen[bytes] | None = None
    ok = False
    try:
        log("promtool check rules / test rules / check config")
        print(run(PROMTOOL, "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")), end="")
        print(run(PROMTOOL, "test", "rules", str(ROOT / "deploy/prometheus/alerts_test.yml")), end="")
        print(run(PROMTOOL, "check", "config", str(config)), end="")

        log(f"database {name}: migrate and seed_demo")
        recreate_database(base_url, name)
        env = production_env(
            database_url, label="prometheus-check", METRICS_TOKEN=token, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo", "--allow-production", "--json")

        app, app_url = start_gunicorn(env, work / "gunicorn.log", port=app_port)
        prom_url = f"http://127.0.0.1:{prom_port}"
        log(f"gunicorn (2 workers) at {app_url}, prometheus at {prom_url}")
        prom = start_process(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            None,
            work / "prometheus.log",
        )

        def target_up() -> bool:
            targets = http_json(f"{prom_url}/api/v1/targets")["data"]["activeTargets"]
            return any(t["labels"]["job"] == "vaultcore" and t["health"] == "up" for t in targets)

        wait_until("the vaultcore scrape target to be up", target_up, [app, prom])
        log("target up (Bearer token accepted)")
        rules = http_json(f"{prom_url}/api/v1/rules")["data"]["groups"]
        loaded = sorted(r["name"] for g in rules for r in g["rules"])
        assert "LedgerNotVerifiedRecently" in loaded and "PayoutPendingOverAnHour" in loaded, loaded
        log(f"{len(loaded)} alert rules loaded")
        wait_until("the business gauges", lambda: query(prom_url, "count(vaultcore_outbox_messages)") >= 1, [app, prom])
        before = query(prom_url, TRANSFERS)
        dashboard_queries_check(prom_url)

        log("a transfer over HTTP: alice -> bob, 1.00 USD")
        access = access_token(app_url, "alice")
        sent = http_json(
            f"{app_url}/api/v1/transactions/transfer/",
            {"recipient": "bob", "currency": "USD", "amount": "1.00", "description": "prometheus check"},
            access,
        )
        assert sent["status"] == "posted", sent
        after = wait_until(
            "the transfer counter to move", lambda: (v := query(prom_url, TRANSFERS)) > before and v, [app, prom]
        )
        log(f"vaultcore_transactions_posted_total{{type=transfer}}: {before:g} -> {after:g}")
        up = query(prom_url, 'up{job="vaultcore"}')
        assert up == 1, up
        ok = True
        print("prometheus check: 1 passed, 0 failed")
        return 0
    finally:
        stop_process(prom)
        stop_process(app)
        if not ok:
            for name_ in ("gunicorn.log", "prometheus.log"):
                path = work / name_
                if path.exists():
                    print(f"----- {name_} -----\n{path.read_text()[-6000:]}", file=sys.stderr)
        try:
            recreate_database(base_url, name, drop_only=True)
        except Exception as exc:
            print(f"could not drop {name}: {exc}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
