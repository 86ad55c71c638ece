from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from outbox.registry import topic_register
        from payments import stripe_handlers  # noqa: F401 - registers the Stripe event handlers
        from payments.metrics import reconciliation_issues_collect
        from payments.payouts import PAYOUT_REQUEST_TOPIC
        from vaultcore.metrics import scrape_collector_register

        # A stored Stripe event is processed through the outbox (payments/services.py).
        topic_register("payments.stripe_event_process", "payments.tasks.process_stripe_event")
        # A withdrawal's payout request, written with its hold (payments/withdrawals.py).
        topic_register(PAYOUT_REQUEST_TOPIC, "payments.tasks.withdrawal_payout_request")
        # GET /metrics: open reconciliation issues, read at scrape time.
        scrape_collector_register("reconciliation_issues", reconciliation_issues_collect)
