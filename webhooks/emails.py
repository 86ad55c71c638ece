"""The email telling an endpoint's owner it was disabled (sent from a Celery task only)."""

from __future__ import annotations

from django.core.mail import send_mail

from webhooks.models import WebhookEndpoint


def endpoint_disabled_email_send(*, endpoint_id: str) -> None:
    endpoint = WebhookEndpoint.objects.select_related("user").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.user is None or not endpoint.user.email:
        return
    send_mail(
        subject="VaultCore: your webhook endpoint was disabled",
        message=(
            f"Every delivery to your webhook endpoint {endpoint.endpoint_id} ({endpoint.url}) failed "
            "for 5 days, so it was disabled. Fix the endpoint, then enable it again with "
            f"PATCH /api/v1/webhooks/endpoints/{endpoint.endpoint_id}/ with status enabled. Missed events can be "
            "read from GET /api/v1/events/."
        ),
        from_email=None,
        recipient_list=[endpoint.user.email],
    )
