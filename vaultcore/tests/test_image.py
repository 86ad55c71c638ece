"""The Dockerfile, docker-compose.yml and the CI check that runs the image's steps without Docker
(.ci/image_runtime_check.py) describe the same image: the check reads the Dockerfile's steps, and
these tests pin what the check and compose rely on."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _check_module() -> ModuleType:
    # The CI scripts import their shared helpers (.ci/live.py) as a top-level module, as they do
    # when run as `python .ci/<script>.py`.
    if str(ROOT / ".ci") not in sys.path:
        sys.path.append(str(ROOT / ".ci"))
    spec = importlib.util.spec_from_file_location("image_runtime_check", ROOT / ".ci" / "image_runtime_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


check = _check_module()
STAGES = check.dockerfile_stages((ROOT / "Dockerfile").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_dockerfile_is_parsed_as_docker_reads_it() -> None:
    stages = check.dockerfile_stages(
        "# comment\nFROM python:3.11-slim AS build\nENV A=1 \\\n    B=$A/x\nRUN echo one \\\n  && echo two\n"
        'FROM python:3.11-slim\n# inside\nCMD ["gunicorn", "app"]\n'
    )
    assert [s.name for s in stages] == ["build", "1"]
    assert stages[0].instructions == [("ENV", "A=1 B=$A/x"), ("RUN", "echo one && echo two")]
    assert check.env_assignments("A=1 B=$A/x PATH=$VENV/bin:$PATH", {"A": "1", "VENV": "/v", "PATH": "/usr/bin"}) == {
        "A": "1",
        "B": "1/x",
        "PATH": "/v/bin:/usr/bin",
    }
    assert check.final_cmd(stages) == ["gunicorn", "app"]
    assert check.is_root(check.final_user(stages))


def test_the_image_is_multi_stage_non_root_without_dev_dependencies() -> None:
    assert len(STAGES) >= 2
    user = check.final_user(STAGES)
    assert not check.is_root(user), user
    runs = [args for stage in STAGES for args in stage.all("RUN")]
    assert any("pip" in run and "requirements.txt" in run for run in STAGES[0].all("RUN"))
    assert not any("requirements-dev" in run for run in runs)
    # the final stage installs nothing: it copies the build stage's environment
    assert not any("pip" in run for run in STAGES[-1].all("RUN"))
    assert any(copy.startswith("--from=build") for copy in STAGES[-1].all("COPY"))


def test_static_files_are_collected_with_production_settings_and_no_database() -> None:
    # given the final stage's build step
    assert STAGES[-1].all("RUN") == ["sh deploy/collectstatic.sh"]
    script = (ROOT / "deploy" / "collectstatic.sh").read_text()
    command = " ".join(line.rstrip("\\").strip() for line in script.splitlines() if not line.startswith("#"))
    # then it runs collectstatic with DEBUG off (the manifest storage) and a database address that
    # refuses connections (port 9, discard), never the embedded PostgreSQL
    assert "DEBUG=False" in command and "DEBUG=True" not in command
    assert re.search(r"DATABASE_URL=postgres://\S+@127\.0\.0\.1:9/", command)
    assert "ALLOW_EMBEDDED_POSTGRES" not in command
    assert "manage.py collectstatic --noinput" in command


def test_compose_runs_the_image_as_the_ci_check_does() -> None:
    services = COMPOSE["services"]
    # web runs the image's CMD, the one the check starts; migrate is the check's command
    assert "command" not in services["web"] and "entrypoint" not in services["web"]
    assert check.final_cmd(STAGES) == ["gunicorn", "vaultcore.wsgi:application"]
    assert services["migrate"]["command"] == check.MIGRATE_COMMAND
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert {"db", "redis"} <= services[name]["depends_on"].keys()
    assert services["worker"]["command"][:4] == ["celery", "-A", "vaultcore", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "vaultcore", "beat"]
    # the production variables the check passes are what compose sets for every app service
    env = services["web"]["environment"]
    assert env["USE_X_FORWARDED_PROTO"] == "True" and env["THROTTLE_NUM_PROXIES"] == "1"
    assert env["LOG_FORMAT"].startswith("${LOG_FORMAT:-json}")


def test_nginx_fronts_web_and_serves_the_collected_static_files() -> None:
    services = COMPOSE["services"]
    proxy = services["proxy"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert "static:/srv/static:ro" in proxy["volumes"]
    assert proxy["depends_on"]["static"] == {"condition": "service_completed_successfully"}
    # the static service copies the image's STATIC_ROOT (WORKDIR /app + staticfiles) to that volume
    workdir = STAGES[-1].all("WORKDIR")[-1]
    assert f"cp -a {workdir}/staticfiles/. /srv/static/" in shlex.join(services["static"]["command"])
    assert "static:/srv/static" in services["static"]["volumes"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server web:8000;" in conf
    assert re.search(r"location /static/ \{\s*root /srv;", conf)
    assert "keepalive_timeout" in conf and "keepalive 16;" in conf


def test_the_monitoring_profile_uses_the_repository_configuration() -> None:
    services = COMPOSE["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["profiles"] == ["monitoring"] and grafana["profiles"] == ["monitoring"]
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in prometheus["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    # the scrape's bearer token is the app's METRICS_TOKEN; the worker serves its own counters
    assert {"source": "metrics_token", "target": "/etc/prometheus/metrics_token"} in prometheus["secrets"]
    assert COMPOSE["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    prometheus_yml = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    assert "credentials_file: /etc/prometheus/metrics_token" in prometheus_yml
    worker = services["worker"]
    assert worker["environment"]["CELERY_WORKER_METRICS_BIND"] == "0.0.0.0:9808" and '"worker:9808"' in prometheus_yml
    assert worker["environment"]["PROMETHEUS_MULTIPROC_DIR"] in worker["tmpfs"]
    # no other service is in a profile: `docker compose up` starts the application
    assert all("profiles" not in service for name, service in services.items() if name not in ("prometheus", "grafana"))


def test_ci_runs_the_image_check() -> None:
    assert ".ci/image_runtime_check.py" in (ROOT / "Makefile").read_text()
    assert re.search(r"^\S*\s*make .*image-check", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
