"""Project-level app: start-up messages and project-wide management commands."""

import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("vaultcore")


class VaultCoreConfig(AppConfig):
    name = "vaultcore"
    verbose_name = "VaultCore"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from vaultcore.db import use_preparing_cursors
        from vaultcore.metrics import observe_database_queries
        from vaultcore.tracing import trace_database_cursors, tracing_configure

        # In this order: the tracing receiver wraps whatever cursor class the first one chose.
        connection_created.connect(use_preparing_cursors, dispatch_uid="vaultcore.db.use_preparing_cursors")
        connection_created.connect(trace_database_cursors, dispatch_uid="vaultcore.tracing.trace_database_cursors")
        connection_created.connect(observe_database_queries, dispatch_uid="vaultcore.metrics.observe_database_queries")
        tracing_configure()
        if not settings.REDIS_URL:
            logger.info(
                "REDIS_URL is not set: using the database cache and running Celery tasks "
                "eagerly in-process (set REDIS_URL to use Redis and a Celery worker)."
            )
