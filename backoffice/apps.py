from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The back-office: the Django admin of every app, its dashboard and helpers. It imports the
    domain apps; they never import it."""

    name = "backoffice"
    verbose_name = "Back-office"
