from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger.metrics import pending_transactions_collect
        from vaultcore.metrics import scrape_collector_register

        # GET /metrics: pending deposits/withdrawals by age, read at scrape time.
        scrape_collector_register("ledger_pending", pending_transactions_collect)
