"""Production start-up rules: secrets are required, `check --deploy` is clean, the cache is shared."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from vaultcore.tests import live_server

BASE_DIR = Path(settings.BASE_DIR)

PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "prod-like-" + "k3y" * 20,
    "ALLOWED_HOSTS": "api.example.com",
    "PAYMENTS_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_prod_like",
    "STRIPE_WEBHOOK_SECRET": "whsec_prod_like",
    "ENCRYPTION_KEYS": "k1:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
}


def _run(
    code_or_args: list[str], extra_env: dict[str, str], drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("SECURE_", "PYTEST"))}
    env.pop("ALLOW_EMBEDDED_POSTGRES", None)
    env["DJANGO_SETTINGS_MODULE"] = "vaultcore.settings"
    env.update(extra_env)
    if not env.get("DATABASE_URL"):
        env["ALLOW_EMBEDDED_POSTGRES"] = "True"
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, *code_or_args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_start_up_without_a_required_secret_fails_clearly(missing: str) -> None:
    # given a production environment lacking one required variable
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    # when Django starts
    result = _run(["-c", "import django; django.setup()"], env, drop=(missing,))

    # then start-up stops and names the variable
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr
    assert "required when DEBUG is off" in result.stderr


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "ENCRYPTION_KEYS"])
def test_production_start_up_with_stripe_without_a_payments_secret_fails_clearly(missing: str) -> None:
    # given a production environment with PAYMENTS_PROVIDER=stripe lacking one payments secret
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    # when Django starts
    result = _run(["-c", "import django; django.setup()"], env, drop=(missing,))

    # then start-up stops and names the variable
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} is not set. It is required when DEBUG is off" in result.stderr


def test_production_without_database_url_refuses_the_embedded_database() -> None:
    env = dict(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "vaultcore.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def test_check_deploy_reports_no_warnings_in_a_production_like_environment() -> None:
    # given a production-like environment (HTTPS, HSTS and secure cookies come from DEBUG=False)
    # when
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_development_mode_starts_without_secrets() -> None:
    result = _run(
        ["-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"],
        {"DEBUG": "True"},
        drop=("SECRET_KEY", "ALLOWED_HOSTS"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True")


@pytest.mark.parametrize("debug", ["False", "True"])
def test_without_redis_the_cache_is_the_database_cache_shared_by_all_workers(debug: str) -> None:
    # given production (or development) settings without REDIS_URL
    code = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default'])"

    # when Django starts
    result = _run(["-c", code], {**PRODUCTION_ENV, "DEBUG": debug}, drop=("REDIS_URL",))

    # then the throttle counters live in the database, not in each process
    assert result.returncode == 0, result.stderr
    assert "'BACKEND': 'vaultcore.cache.DatabaseCache'" in result.stdout
    assert "'LOCATION': 'vaultcore_cache'" in result.stdout


@pytest.mark.django_db(transaction=True)
def test_two_server_processes_share_the_throttle_count_without_redis(tmp_path: Path) -> None:
    # given two gunicorn servers with production settings, no REDIS_URL, on this test database
    # (migrated like any other: the cache table comes with the migrations), 4 log-ins a minute
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    ports = [live_server.free_port(), live_server.free_port()]
    base = {
        **PRODUCTION_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        **live_server.database_env(),
        "CACHE_KEY_PREFIX": prefix,
        "THROTTLE_USER_RATE": "off",
        "THROTTLE_AUTH_RATE": "4/min",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": "",
        "GUNICORN_LOGLEVEL": "warning",
    }
    argv = ["-m", "gunicorn", "-c", "gunicorn.conf.py", "vaultcore.wsgi:application"]
    body = '{"username": "nobody", "password": "wrong-password"}'
    try:
        with (
            live_server.running(
                argv,
                live_server.server_env({**base, "GUNICORN_BIND": f"127.0.0.1:{ports[0]}"}),
                ports[0],
                tmp_path / "a.log",
            ),
            live_server.running(
                argv,
                live_server.server_env({**base, "GUNICORN_BIND": f"127.0.0.1:{ports[1]}"}),
                ports[1],
                tmp_path / "b.log",
            ),
        ):
            # when one client's log-ins alternate between the two processes
            statuses = [live_server.request(port, "POST", "/api/v1/auth/token/", body=body)[0] for port in ports * 3]

        # then the fifth and sixth are refused: each process saw the other's attempts
        assert 429 not in statuses[:4], statuses
        assert statuses[4:] == [429, 429], statuses
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM vaultcore_cache WHERE cache_key LIKE %s", [prefix + ":%"])


def _required_by_settings() -> set[str]:
    """The variables production settings stop without: each ``_require("X", ...)`` and each
    ``"X is not set."`` start-up error in vaultcore/settings.py."""
    source = (BASE_DIR / "vaultcore" / "settings.py").read_text()
    return set(re.findall(r'_require\(\s*"(\w+)"', source)) | set(re.findall(r'"(\w+) is not set\.', source))


def _readme_section(title: str) -> str:
    readme = (BASE_DIR / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_the_readme_production_steps_list_every_required_variable() -> None:
    required = _required_by_settings()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "ENCRYPTION_KEYS"} <= required
    assert {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} <= required
    production = _readme_section("Production")
    missing = sorted(name for name in required | {"REDIS_URL"} if f"`{name}`" not in production)
    assert not missing, f"README's Production section does not list {missing}"


def test_production_starts_with_only_the_required_variables() -> None:
    # given an environment holding nothing but the variables derived from settings
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "vaultcore.settings", "DEBUG": "False"}
    env.update({name: PRODUCTION_ENV.get(name, "") for name in _required_by_settings()})
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or "postgres://vaultcore@127.0.0.1:5432/vaultcore"
    assert all(env.values())
    # when Django starts with the production settings, then nothing else is required
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
