"""The Celery application. Configuration lives in settings under the ``CELERY_`` prefix.

Logging: Celery uses the project's ``LOGGING`` (``LOG_FORMAT=json`` included) instead of its own
format, and every line of a task carries a request id: the one of the HTTP request that queued
the task (sent as a message header), else the task's own id.
"""

import os
from typing import Any

from celery import Celery, signals

from vaultcore.log_context import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultcore.settings")

app = Celery("vaultcore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "vaultcore_request_id"


@signals.celeryd_init.connect
@signals.setup_logging.connect
def _configure_logging(**kwargs: Any) -> None:
    """Connected, so Celery leaves the root logger alone and logs through settings.LOGGING (from
    ``celeryd_init`` on: the worker's start-up checks already log through it)."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    # Celery's start-up warnings (e.g. running as root) go through the same handler and format.
    logging.captureWarnings(True)


@signals.before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _take_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """In a worker: the queuing request's id, else the task id. A task run eagerly inside a
    request keeps that request's id."""
    context = getattr(task, "request", None)
    if context is None or request_id_var.get() != "-":
        return
    request_id = getattr(context, REQUEST_ID_HEADER, None) or task_id or "-"
    context.vaultcore_request_id_token = request_id_var.set(str(request_id))


@signals.task_postrun.connect
def _drop_request_id(task: Any = None, **kwargs: Any) -> None:
    token = getattr(getattr(task, "request", None), "vaultcore_request_id_token", None)
    if token is not None:
        request_id_var.reset(token)


@signals.worker_init.connect
def _worker_metrics_serve(**kwargs: Any) -> None:
    """A worker serves its own counters when ``CELERY_WORKER_METRICS_BIND`` is set (README,
    "Metrics and tracing")."""
    from django.conf import settings

    bind: str = settings.CELERY_WORKER_METRICS_BIND
    if bind:
        from vaultcore.metrics import worker_metrics_server_start

        host, _, port = bind.rpartition(":")
        worker_metrics_server_start(host=host or "127.0.0.1", port=int(port))
