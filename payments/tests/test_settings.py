"""Payments settings in a production-like process: secrets required, never the dev key."""

import os
import subprocess
import sys

from django.conf import settings

KEY_RING = "k1:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "prod-like-" + "k3y" * 20,
    "ALLOWED_HOSTS": "api.example.com",
    "DJANGO_SETTINGS_MODULE": "vaultcore.settings",
    "PAYMENTS_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_prod_like",
    "STRIPE_WEBHOOK_SECRET": "whsec_prod_like",
}
PROBE = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "from payments import crypto\n"
    "print('kids=' + crypto.key_ring().primary_kid)\n"
)


def _run(extra_env: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "PYTEST", "ENCRYPTION_", "STRIPE_")) and k != "ALLOW_EMBEDDED_POSTGRES"
    }
    env.update(PRODUCTION_ENV)
    env.update(extra_env)
    for name in drop:
        env.pop(name, None)
    if not env.get("DATABASE_URL"):
        env["ALLOW_EMBEDDED_POSTGRES"] = "True"
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_without_encryption_keys_stops_instead_of_using_the_dev_key() -> None:
    # when: a production start-up with every secret but the key ring
    result = _run({})

    # then
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS is not set. It is required when DEBUG is off" in result.stderr
    assert "kids=" not in result.stdout


def test_a_sandbox_demo_still_needs_the_key_ring() -> None:
    # when: the sandbox provider is allowed for a demo (no Stripe secrets needed) but no key ring
    result = _run(
        {"PAYMENTS_PROVIDER": "sandbox", "ALLOW_SANDBOX_PROVIDER": "True"},
        drop=("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"),
    )

    # then
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS is not set" in result.stderr
    assert "STRIPE_" not in result.stderr


def test_production_with_a_key_ring_uses_it() -> None:
    # when
    result = _run({"ENCRYPTION_KEYS": KEY_RING})

    # then
    assert result.returncode == 0, result.stderr
    assert "kids=k1" in result.stdout
