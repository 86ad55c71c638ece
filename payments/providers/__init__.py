"""Payment providers behind one interface; ``get_provider()`` returns the configured one.

Register a provider by adding its dotted path to ``PROVIDERS`` (the payments issue adds
``"stripe"``); ``PAYMENTS_PROVIDER`` selects it.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from payments.providers.base import (
    PaymentProvider,
    PaymentResult,
    PayoutResult,
    ProviderError,
    ProviderStatus,
)

PROVIDERS: dict[str, str] = {
    "sandbox": "payments.providers.sandbox.SandboxProvider",
    "stripe": "payments.providers.stripe.StripeProvider",
}

__all__ = [
    "PROVIDERS",
    "PaymentProvider",
    "PaymentResult",
    "PayoutResult",
    "ProviderError",
    "ProviderStatus",
    "get_provider",
]


@cache
def _load(name: str) -> PaymentProvider:
    if name not in PROVIDERS:
        raise ImproperlyConfigured(f"Unknown PAYMENTS_PROVIDER {name!r}; known: {', '.join(sorted(PROVIDERS))}.")
    try:
        provider_class = import_string(PROVIDERS[name])
    except ImportError as exc:
        raise ImproperlyConfigured(f"PAYMENTS_PROVIDER {name!r} is not available in this build.") from exc
    provider: PaymentProvider = provider_class()
    return provider


def get_provider() -> PaymentProvider:
    """The provider named by ``settings.PAYMENTS_PROVIDER`` (one instance per process and name)."""
    return _load(settings.PAYMENTS_PROVIDER)
