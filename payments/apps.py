import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("payments")


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Missing production secrets are reported once at start-up; the code paths that need
        # them refuse to run (nothing is ever encrypted with a default key or accepted unsigned).
        if settings.DEBUG:
            return
        if not settings.ENCRYPTION_KEYS:
            logger.error("ENCRYPTION_KEYS is not set: bank details can be neither stored nor read.")
        if getattr(settings, "PAYMENTS_PROVIDER", "") == "stripe":
            for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
                if not getattr(settings, name):
                    logger.error("%s is not set although PAYMENTS_PROVIDER=stripe.", name)
