"""One row per side effect (an email, a provider call, an event to process), written in the same
database transaction as the change it belongs to: it exists if and only if the change committed.

``pending`` rows are handed to their Celery task by the relay (``outbox/services.py``), then
``sent``; a row whose handler keeps failing (eager mode) or whose topic is unknown ends ``failed``
and waits in the admin for a retry.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    topic = models.CharField(max_length=100, db_index=True, help_text="Registered topic naming the handler task")
    payload = models.JSONField(help_text="Keyword arguments of the handler task")
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, help_text="Not relayed before this")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The relay's scan: due pending rows, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"], name="outbox_pending_due_idx", condition=Q(status="pending")
            ),
            models.Index(fields=["status", "created_at"], name="outbox_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} ({self.status})"
