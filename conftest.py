"""Fixtures shared by every app's tests."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Throttle counters and other cached state never leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _ledger_verified_after_real_commits(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that really commits (``django_db(transaction=True)``), ``verify_ledger``
    finds nothing wrong: no flow, concurrent or not, leaves the books out of balance. Tests that
    break the books on purpose (to prove a check fires) carry ``ledger_left_inconsistent``."""
    marker = request.node.get_closest_marker("django_db")
    checked = (
        marker is not None
        and marker.kwargs.get("transaction", False)
        and request.node.get_closest_marker("ledger_left_inconsistent") is None
    )
    if checked:
        request.getfixturevalue("transactional_db")  # set up first, so this teardown runs before its flush
    yield
    if checked:
        from ledger.verification import ledger_verify

        report = ledger_verify()
        assert report.ok, f"verify_ledger after the test: {report}"
