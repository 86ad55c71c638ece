"""gunicorn.conf.py: a stock gunicorn configuration (no worker class or hook of our own beyond
logging), sized from the environment."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_the_default_is_gunicorn_s_sync_worker_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # when
    conf = load(monkeypatch)
    # then
    assert conf["worker_class"] == "sync"
    assert conf["preload_app"] is True
    assert isinstance(conf["workers"], int) and conf["workers"] >= 2


def test_gthread_and_the_sizing_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # when
    conf = load(monkeypatch, GUNICORN_WORKER_CLASS="gthread", GUNICORN_WORKERS="5", GUNICORN_THREADS="4")
    # then
    assert (conf["worker_class"], conf["workers"], conf["threads"]) == ("gthread", 5, 4)
