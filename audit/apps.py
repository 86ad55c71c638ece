from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.metrics import ledger_verification_collect
        from vaultcore.metrics import scrape_collector_register

        # GET /metrics: the last verify_ledger run, read at scrape time.
        scrape_collector_register("ledger_verification", ledger_verification_collect)
