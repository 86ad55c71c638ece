import os
import threading
import time

import pytest
import redis
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from payments import job_lock
from payments.job_lock import single_run_lock

REDIS_URL = os.environ.get("REDIS_URL", "")


def _redis_available() -> bool:
    if not REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="REDIS_URL not set or Redis unreachable")


@needs_redis
def test_redis_lock_admits_one_run_at_a_time(settings: SettingsWrapper) -> None:
    # given
    settings.REDIS_URL = REDIS_URL
    name = f"test-job-{time.time_ns()}"

    # when
    with single_run_lock(name, timeout=30) as first, single_run_lock(name, timeout=30) as second:
        pass

    # then
    assert first is True
    assert second is False
    with single_run_lock(name, timeout=30) as after_release:
        assert after_release is True


@needs_redis
def test_redis_lock_expires_if_its_holder_dies_and_a_late_release_cannot_steal_it(settings: SettingsWrapper) -> None:
    # given: a holder whose 1 s lock expires while it is still "working"
    settings.REDIS_URL = REDIS_URL
    name = f"test-job-{time.time_ns()}"
    client = redis.Redis.from_url(REDIS_URL)

    # when
    with single_run_lock(name, timeout=1) as first:
        time.sleep(1.2)
        with single_run_lock(name, timeout=30) as second:
            # the first holder's release (on leaving its block) must not free the second's lock
            pass
        # then
        assert first is True
        assert second is True
        token = client.get(job_lock._KEY_PREFIX + name)
    assert token is None  # second released its own lock at the end of its block

    with single_run_lock(name, timeout=30) as third, single_run_lock(name, timeout=30) as fourth:
        assert (third, fourth) == (True, False)


def test_configured_but_unreachable_redis_skips_the_job(settings: SettingsWrapper) -> None:
    # given: Redis configured but down (nothing listens on port 1)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    # when
    with single_run_lock("test-job-redis-down", timeout=30) as acquired:
        pass

    # then
    assert acquired is False


@pytest.mark.django_db(transaction=True)
def test_without_redis_a_postgres_advisory_lock_admits_one_run(settings: SettingsWrapper) -> None:
    # given
    settings.REDIS_URL = ""
    name = f"test-job-{time.time_ns()}"
    other_thread: list[bool] = []

    def contend() -> None:
        try:
            with single_run_lock(name) as acquired:
                other_thread.append(acquired)
        finally:
            connection.close()

    # when: another connection tries while this one holds the lock, and again after release
    with single_run_lock(name) as first:
        t = threading.Thread(target=contend)
        t.start()
        t.join()
    t = threading.Thread(target=contend)
    t.start()
    t.join()

    # then
    assert first is True
    assert other_thread == [False, True]
