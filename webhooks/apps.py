from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from events.registry import DISPATCH_TOPIC, dispatch_interest_register
        from outbox.registry import topic_register
        from webhooks.models import EndpointStatus, WebhookEndpoint
        from webhooks.services import DELIVER_TOPIC, DISABLED_EMAIL_TOPIC

        topic_register(DISPATCH_TOPIC, "webhooks.tasks.events_dispatch")
        topic_register(DELIVER_TOPIC, "webhooks.tasks.webhook_deliver")
        topic_register(DISABLED_EMAIL_TOPIC, "webhooks.tasks.endpoint_disabled_email")
        # An event batch gets its dispatch row only when an enabled endpoint may want it (checked
        # in the statement that writes the events: no extra round trip, no stale answer).
        table = WebhookEndpoint._meta.db_table
        dispatch_interest_register(
            f"EXISTS (SELECT 1 FROM {table} AS we WHERE we.status = '{EndpointStatus.ENABLED.value}' "  # noqa: S608
            "AND (we.user_id IS NULL OR we.user_id IN (SELECT user_id FROM ev_in)))"
        )
