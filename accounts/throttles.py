"""Throttles backed by the cache (Redis when configured).

- ``UserRateThrottle``: the general limit, per user (per IP when anonymous), ``THROTTLE_USER_RATE``.
- ``AuthIPThrottle`` / ``AuthAccountThrottle``: the strict limit of log-in, refresh,
  forgot-password and verification endpoints, per client IP and per targeted account
  (``THROTTLE_AUTH_RATE``). A rate of ``None`` (env value ``off``) disables a throttle.

Rates are read on every request (not frozen at import like DRF's class attribute), so settings
overrides in tests take effect.
"""

from __future__ import annotations

import hashlib
from typing import Any

from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings


class _LiveRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate else None


class UserRateThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    """General per-user limit (anonymous callers are counted per IP)."""

    scope = "user"


class AuthIPThrottle(_LiveRateMixin, throttling.SimpleRateThrottle):
    """Strict limit per client IP on authentication endpoints, per endpoint."""

    scope = "auth_ip"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": f"{self.scope}:{type(view).__name__}", "ident": self.get_ident(request)}


class AuthAccountThrottle(_LiveRateMixin, throttling.SimpleRateThrottle):
    """Strict limit per targeted account on authentication endpoints, per endpoint.

    The view names the account with ``throttle_account(request)`` (a username, an email or a
    user id; ``None`` when the request names none); it is hashed so no address lands in the cache.
    """

    scope = "auth_account"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        account_of = getattr(view, "throttle_account", None)
        account = account_of(request) if account_of else None
        if not account:
            return None
        digest = hashlib.sha256(str(account).strip().lower().encode()).hexdigest()[:32]
        return self.cache_format % {"scope": f"{self.scope}:{type(view).__name__}", "ident": digest}


AUTH_THROTTLES = [UserRateThrottle, AuthIPThrottle, AuthAccountThrottle]
