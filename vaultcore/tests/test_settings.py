"""Production start-up rules: secrets are required, `check --deploy` is clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

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
