"""gunicorn.conf.py: a stock gunicorn configuration (no worker class or hook of our own beyond
logging), sized from the environment."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    # Restored afterwards: the configuration sets it for the server's processes.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", env.pop("PROMETHEUS_MULTIPROC_DIR", ""))
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


def test_metrics_use_multiprocess_mode_with_a_fresh_folder_unless_one_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # when no folder is configured
    load(monkeypatch)
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    # then the configuration made an empty one for the workers' metric files
    assert made.is_dir() and not any(made.iterdir())
    made.rmdir()

    # when the operator gives one
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    # then it is kept, and a dead worker's live gauges are dropped
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    assert callable(conf["child_exit"])
