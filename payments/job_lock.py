"""Single-run locks for background jobs (reconciliation, sweepers) across all worker hosts.

With ``REDIS_URL`` set: a redis-py :class:`~redis.lock.Lock` with a timeout (the lock expires
if its holder dies) and a random token (only the holder can release it; releasing after expiry
is detected and logged). Without Redis configured: a PostgreSQL session-level advisory lock on
this thread's database connection, released when the job ends or the connection closes.

Money correctness never depends on these locks — ledger services lock rows themselves; a job
lock only keeps two runs of the same background job from doing duplicate work. When Redis is
configured but unreachable the job does not run (it is not acquired): falling back to
PostgreSQL then would let hosts that can still reach Redis run at the same time. Session-level
advisory locks need session pooling (not PgBouncer in transaction mode).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from redis.exceptions import LockError, LockNotOwnedError, RedisError

logger = logging.getLogger("payments.job_lock")

_KEY_PREFIX = "vaultcore:job-lock:"


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock``."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def single_run_lock(name: str, *, timeout: int | None = None) -> Iterator[bool]:
    """``with single_run_lock("reconcile") as acquired:`` — run the job only if ``acquired``.

    Never blocks: if another run holds the lock, ``acquired`` is False. ``timeout`` (seconds,
    default ``PAYMENTS_JOB_LOCK_TIMEOUT``) bounds how long a dead holder keeps a Redis lock.
    """
    seconds = timeout or settings.PAYMENTS_JOB_LOCK_TIMEOUT
    if settings.REDIS_URL:
        with _redis_lock(name, seconds) as acquired:
            yield acquired
    else:
        with _advisory_lock(name) as acquired:
            yield acquired


@contextmanager
def _redis_lock(name: str, timeout: int) -> Iterator[bool]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    lock = client.lock(_KEY_PREFIX + name, timeout=timeout, blocking=False, thread_local=False)
    try:
        acquired = bool(lock.acquire())
    except RedisError as exc:
        logger.warning(
            "job lock %s not acquired: Redis unavailable (%s); the job will run later", name, type(exc).__name__
        )
        client.close()
        yield False
        return
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except LockNotOwnedError:
                logger.warning("job lock %s expired before the job finished (timeout %ss)", name, timeout)
            except (LockError, RedisError) as exc:
                logger.warning("job lock %s not released (%s); it expires by itself", name, type(exc).__name__)
        client.close()


@contextmanager
def _advisory_lock(name: str) -> Iterator[bool]:
    key = _advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        row = cursor.fetchone()
    acquired = bool(row and row[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError as exc:
                # A lost connection released its session locks with it.
                logger.warning("job lock %s not released explicitly (%s)", name, type(exc).__name__)
