"""The provider boundary: selection by setting, the sandbox, the production guard."""

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from payments.providers import get_provider
from payments.providers.base import PaymentProvider, ProviderStatus
from payments.providers.sandbox import SandboxProvider

ROOT = Path(__file__).resolve().parents[3]


def test_get_provider_returns_the_configured_provider(settings: Settings) -> None:
    settings.PAYMENTS_PROVIDER = "sandbox"
    provider = get_provider()
    assert isinstance(provider, SandboxProvider)
    assert isinstance(provider, PaymentProvider)


def test_unknown_provider_is_a_configuration_error(settings: Settings) -> None:
    settings.PAYMENTS_PROVIDER = "paypal-ish"
    with pytest.raises(ImproperlyConfigured, match="Unknown PAYMENTS_PROVIDER"):
        get_provider()


def test_sandbox_succeeds_at_once_with_references_tied_to_the_transaction() -> None:
    txn_id = uuid.uuid4()
    payment = SandboxProvider().create_payment(transaction_id=txn_id, amount=Decimal("1.00"), currency="USD", user_id=1)
    payout = SandboxProvider().create_payout(
        transaction_id=txn_id, amount=Decimal("1.00"), currency="USD", user_id=1, bank_account_id=None
    )
    assert payment.status == payout.status == ProviderStatus.SUCCEEDED
    assert txn_id.hex in payment.reference
    assert txn_id.hex in payout.reference


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("PAYMENTS_PROVIDER", "ALLOW_SANDBOX_PROVIDER", "DEBUG")
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "vaultcore.settings",
            "SECRET_KEY": "x" * 60,
            "ALLOWED_HOSTS": "example.com",
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
            **env,
        }
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.PAYMENTS_PROVIDER)",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_production_start_up_with_the_sandbox_fails_unless_allowed() -> None:
    refused = _start(DEBUG="False", PAYMENTS_PROVIDER="sandbox")
    assert refused.returncode != 0
    assert "PAYMENTS_PROVIDER=sandbox" in refused.stderr
    allowed = _start(DEBUG="False", PAYMENTS_PROVIDER="sandbox", ALLOW_SANDBOX_PROVIDER="True")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip().endswith("sandbox")


@pytest.mark.slow
def test_sandbox_is_the_default_only_in_debug() -> None:
    assert _start(DEBUG="True").stdout.strip().endswith("sandbox")
    production = _start(DEBUG="False")
    assert production.returncode == 0, production.stderr
    assert production.stdout.strip().endswith("stripe")
