"""Events: every change of money or of a wallet's state, as the user it concerns sees it.

An event is written in the same statement (and so the same database transaction) as its change
(``events/services.py``): it exists if and only if the change committed. ``sequence`` counts one
user's events, 1, 2, 3, ... without gaps, allocated from the user's ``EventCounter`` row.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

EVENT_ID_PREFIX = "evt_"


class EventType(models.TextChoices):
    TRANSACTION_CREATED = "transaction.created", "Transaction created (pending)"
    TRANSACTION_POSTED = "transaction.posted", "Transaction posted"
    TRANSACTION_VOIDED = "transaction.voided", "Transaction voided"
    TRANSACTION_FAILED = "transaction.failed", "Transaction failed"
    TRANSACTION_REVERSED = "transaction.reversed", "Transaction reversed"
    WALLET_CREATED = "wallet.created", "Wallet created"
    WALLET_FROZEN = "wallet.frozen", "Wallet frozen"
    WALLET_UNFROZEN = "wallet.unfrozen", "Wallet unfrozen"
    DISPUTE_OPENED = "dispute.opened", "Dispute opened"
    DISPUTE_UPDATED = "dispute.updated", "Dispute updated"
    DISPUTE_RESOLVED = "dispute.resolved", "Dispute resolved"
    SCHEDULED_TRANSFER_RUN_SUCCEEDED = "scheduled_transfer.run_succeeded", "Scheduled transfer run succeeded"
    SCHEDULED_TRANSFER_RUN_FAILED = "scheduled_transfer.run_failed", "Scheduled transfer run failed"
    SCHEDULED_TRANSFER_PAUSED = "scheduled_transfer.paused", "Scheduled transfer paused"


class Event(models.Model):
    # The public id is the key, and a user's events are read by (user, sequence): two indexes
    # to maintain per event on the money path, no more.
    public_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, choices=EventType.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sequence = models.BigIntegerField(help_text="The user's events counted 1, 2, 3, ... in commit order")
    data = models.JSONField(help_text='{"object": the REST representation as this user sees it}')
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "sequence"], name="events_event_user_sequence_uniq"),
            models.CheckConstraint(condition=models.Q(sequence__gt=0), name="events_event_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} #{self.sequence}"

    @property
    def event_id(self) -> str:
        return f"{EVENT_ID_PREFIX}{self.public_id.hex}"


class EventCounter(models.Model):
    """The last ``sequence`` given to a user's events; its row lock orders that user's events only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    last_sequence = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.last_sequence}"
