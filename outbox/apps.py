from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from outbox.metrics import outbox_backlog_collect
        from vaultcore.metrics import scrape_collector_register

        # GET /metrics: the backlog and its age, read at scrape time.
        scrape_collector_register("outbox_backlog", outbox_backlog_collect)
