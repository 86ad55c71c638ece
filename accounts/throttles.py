"""Throttles backed by the shared cache (Redis when configured, else the database cache).

- ``UserRateThrottle``: the general limit, per user (per IP when anonymous), ``THROTTLE_USER_RATE``.
- ``AuthIPThrottle`` / ``AuthAccountThrottle``: the strict limit of log-in, refresh,
  forgot-password and verification endpoints, per client IP and per targeted account
  (``THROTTLE_AUTH_RATE``). A rate of ``None`` (env value ``off``) disables a throttle.

Rates are read on every request (not frozen at import like DRF's class attribute), so settings
overrides in tests take effect.

Cache outages never turn into errors: when the shared cache is unreachable, a throttle keeps
counting in a per-process local-memory cache (a looser limit, never none) and logs a warning.
Money correctness never depends on the cache. Every lock-out on an authentication endpoint is
logged at WARNING.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.db import DatabaseError
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

logger = logging.getLogger("accounts.throttles")

# Used only while the shared cache is unreachable.
_FALLBACK_CACHE = LocMemCache("throttle-fallback", {"MAX_ENTRIES": 100_000})


class _LiveRateMixin(throttling.SimpleRateThrottle):
    scope: str

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate else None

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError, DatabaseError):
            logger.warning("throttle %s: shared cache unreachable; counting in process memory", self.scope)
            self.cache = _FALLBACK_CACHE
            return super().allow_request(request, view)


def _endpoint(view: Any) -> str:
    """The counters' name of an endpoint: ``throttle_name`` when endpoints share limits."""
    return str(getattr(view, "throttle_name", type(view).__name__))


class _LockoutLogMixin(_LiveRateMixin):
    def throttle_failure(self) -> bool:
        """A lock-out on an authentication endpoint is logged (the key holds an IP or a hash)."""
        logger.warning("authentication lock-out: %s limit reached (%s)", self.scope, self.key)
        return False


class UserRateThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    """General per-user limit (anonymous callers are counted per IP)."""

    scope = "user"


class AuthIPThrottle(_LockoutLogMixin, throttling.SimpleRateThrottle):
    """Strict limit per client IP on authentication endpoints, per endpoint."""

    scope = "auth_ip"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": f"{self.scope}:{_endpoint(view)}", "ident": self.get_ident(request)}


class AuthAccountThrottle(_LockoutLogMixin, throttling.SimpleRateThrottle):
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
        return self.cache_format % {"scope": f"{self.scope}:{_endpoint(view)}", "ident": digest}


AUTH_THROTTLES = [UserRateThrottle, AuthIPThrottle, AuthAccountThrottle]


class _LoginEndpoint:
    """The log-in as a throttled endpoint outside DRF (the admin's form): the API log-in's name,
    so both forms of log-in count against one budget per IP and per account."""

    throttle_name = "login"

    def __init__(self, account: str | None) -> None:
        self.account = account

    def throttle_account(self, request: HttpRequest) -> str | None:
        return self.account


def login_throttle_wait(request: HttpRequest, *, account: str | None) -> float | None:
    """Count one log-in attempt; None when allowed, else the seconds to wait."""
    endpoint = _LoginEndpoint(account or None)
    for throttle in (AuthIPThrottle(), AuthAccountThrottle()):
        if not throttle.allow_request(request, endpoint):  # type: ignore[arg-type]
            return throttle.wait() or 1.0
    return None
