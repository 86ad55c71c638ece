"""Django's Redis and database cache backends, counted (``vaultcore_cache_requests``): a get is a
hit or a miss, every other operation ok or error. The data path is Django's own."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.db import DatabaseCache as _DatabaseCache
from django.core.cache.backends.redis import RedisCache as _RedisCache

from vaultcore.metrics import CACHE_REQUESTS

_MISSING = object()


class _Counted:
    """Mixin over a Django cache backend: each public operation bumps one counter."""

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        value = _call(super().get, "get", key, _MISSING, version=version)  # type: ignore[misc]
        CACHE_REQUESTS.labels("get", "miss" if value is _MISSING else "hit").inc()
        return default if value is _MISSING else value

    def get_many(self, keys: Any, version: Any = None) -> Any:
        found = _call(super().get_many, "get_many", keys, version=version)  # type: ignore[misc]
        CACHE_REQUESTS.labels("get_many", "hit" if found else "miss").inc()
        return found

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return _counted(super().set, "set", *args, **kwargs)  # type: ignore[misc]

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return _counted(super().add, "add", *args, **kwargs)  # type: ignore[misc]

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return _counted(super().incr, "incr", *args, **kwargs)  # type: ignore[misc]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return _counted(super().delete, "delete", *args, **kwargs)  # type: ignore[misc]


def _call(method: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return method(*args, **kwargs)
    except Exception:
        CACHE_REQUESTS.labels(operation, "error").inc()
        raise


def _counted(method: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
    result = _call(method, operation, *args, **kwargs)
    CACHE_REQUESTS.labels(operation, "ok").inc()
    return result


class RedisCache(_Counted, _RedisCache):
    """``django.core.cache.backends.redis.RedisCache``, counted."""


class DatabaseCache(_Counted, _DatabaseCache):
    """``django.core.cache.backends.db.DatabaseCache``, counted."""
