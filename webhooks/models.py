"""Webhook endpoints (a user's, or a platform endpoint receiving every user's events), one
delivery per (endpoint, event), and each delivery's attempts (the deliveries log of the API)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.crypto import EncryptedTextField

ENDPOINT_ID_PREFIX = "we_"
ATTEMPT_ID_PREFIX = "wdl_"


class EndpointStatus(models.TextChoices):
    ENABLED = "enabled", "Enabled"
    DISABLED = "disabled", "Disabled"


class WebhookEndpoint(models.Model):
    # A UUID set in Python: the secrets' AES-GCM associated data names the row.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="Empty for a platform endpoint (every user's events).",
    )
    url = models.URLField(max_length=2048)
    event_types = models.JSONField(default=list, help_text='Event types, or ["*"] for all.')
    description = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=8, choices=EndpointStatus.choices, default=EndpointStatus.ENABLED)
    disabled_reason = models.CharField(max_length=255, blank=True)
    secret_encrypted = EncryptedTextField(plaintext_name="secret")
    previous_secret_encrypted = EncryptedTextField(plaintext_name="previous_secret", null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="Start of the current run of failed attempts (none since then succeeded)."
    )
    busy_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the one delivery in flight.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Declared by EncryptedTextField.contribute_to_class.
    secret: str
    previous_secret: str | None

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "status"], name="webhooks_endpoint_user_status")]

    def __str__(self) -> str:
        owner = "platform" if self.user_id is None else f"user {self.user_id}"
        return f"{self.endpoint_id} ({owner}) {self.url}"

    @property
    def endpoint_id(self) -> str:
        return f"{ENDPOINT_ID_PREFIX}{self.id.hex}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled (endpoint disabled or deleted)"


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=9, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Scheduled attempts made (manual ones not counted)")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True, help_text="An attempt is in flight until then.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="webhooks_delivery_once")]
        indexes = [
            models.Index(fields=["endpoint", "status"], name="webhooks_delivery_ep_status"),
            models.Index(fields=["status"], name="webhooks_delivery_pending", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} ({self.status})"


class WebhookAttempt(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempt_log")
    attempt = models.PositiveIntegerField()
    manual = models.BooleanField(default=False, help_text="Sent again on request (API retry or admin)")
    status_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, help_text="The first kilobyte of the response")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "id"], name="webhooks_attempt_endpoint_id")]

    def __str__(self) -> str:
        return f"{self.attempt_id} attempt {self.attempt}"

    @property
    def attempt_id(self) -> str:
        return f"{ATTEMPT_ID_PREFIX}{self.public_id.hex}"
