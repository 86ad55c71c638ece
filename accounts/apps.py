from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from outbox.registry import topic_register

        # Account emails leave through the outbox (accounts/services.py).
        topic_register("accounts.verification_email", "accounts.tasks.verification_email_send")
        topic_register("accounts.password_reset_email", "accounts.tasks.password_reset_email_send")
        topic_register("accounts.email_change_emails", "accounts.tasks.email_change_emails_send")
