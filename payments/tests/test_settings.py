"""Payments settings in a production-like process: no dev key, Stripe secrets reported."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "prod-like-" + "k3y" * 20,
    "ALLOWED_HOSTS": "api.example.com",
    "DJANGO_SETTINGS_MODULE": "vaultcore.settings",
    "PAYMENTS_PROVIDER": "stripe",
}
PROBE = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "from payments import crypto\n"
    "print('keys=' + repr(settings.ENCRYPTION_KEYS))\n"
    "try:\n"
    "    crypto.key_ring()\n"
    "except Exception as exc:\n"
    "    print(type(exc).__name__ + ': ' + str(exc))\n"
)


def _run(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "PYTEST", "ENCRYPTION_", "STRIPE_")) and k != "ALLOW_EMBEDDED_POSTGRES"
    }
    env.update(PRODUCTION_ENV)
    env.update(extra_env)
    if not env.get("DATABASE_URL"):
        env["ALLOW_EMBEDDED_POSTGRES"] = "True"
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_without_encryption_keys_never_falls_back_to_the_dev_key() -> None:
    # when
    result = _run({})

    # then
    assert result.returncode == 0, result.stderr
    assert "keys=''" in result.stdout
    assert "ImproperlyConfigured: ENCRYPTION_KEYS is not set" in result.stdout
    assert "ENCRYPTION_KEYS is not set" in result.stderr  # logged once at start-up
    assert "STRIPE_SECRET_KEY is not set although PAYMENTS_PROVIDER=stripe" in result.stderr
    assert "STRIPE_WEBHOOK_SECRET is not set although PAYMENTS_PROVIDER=stripe" in result.stderr


def test_production_with_a_key_ring_uses_it() -> None:
    # when
    result = _run(
        {"ENCRYPTION_KEYS": "k1:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "STRIPE_SECRET_KEY": "sk_x"}
    )

    # then
    assert result.returncode == 0, result.stderr
    assert "ImproperlyConfigured" not in result.stdout
    assert "ENCRYPTION_KEYS is not set" not in result.stderr
    assert "STRIPE_SECRET_KEY is not set" not in result.stderr
