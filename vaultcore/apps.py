"""Project-level app: start-up messages and project-wide management commands."""

import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("vaultcore")


class VaultCoreConfig(AppConfig):
    name = "vaultcore"
    verbose_name = "VaultCore"

    def ready(self) -> None:
        if not settings.REDIS_URL:
            logger.info(
                "REDIS_URL is not set: using the database cache and running Celery tasks "
                "eagerly in-process (set REDIS_URL to use Redis and a Celery worker)."
            )
