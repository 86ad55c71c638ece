"""The append-only audit trail of back-office actions and sensitive account events.

One row per action: who (``actor``, or none for the system itself), when, what (``action``), on
what (``target_type`` + ``target_id`` + a readable ``target_repr``), the state before and after,
the operator's reason, and where from (IP, request id). Rows are written by
``audit.services.audit_record`` inside the same database transaction as the change they
describe, and PostgreSQL refuses any UPDATE or DELETE of them (``audit/sql/``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    USER_ROLE_CHANGE = "user.role_change", "User role changed"
    USER_PROFILE_UPDATE = "user.profile_update", "User names changed by staff"
    USER_SESSIONS_REVOKE = "user.sessions_revoke", "User sessions revoked"
    USER_DEACTIVATE = "user.deactivate", "User deactivated"
    USER_VERIFICATION_RESEND = "user.verification_resend", "Verification email re-sent"
    WALLET_FREEZE = "wallet.freeze", "Wallet frozen"
    WALLET_UNFREEZE = "wallet.unfreeze", "Wallet unfrozen"
    ADJUSTMENT_POST = "adjustment.post", "Adjustment posted"
    ADJUSTMENT_PROPOSE = "adjustment.propose", "Adjustment proposed"
    ADJUSTMENT_APPROVE = "adjustment.approve", "Adjustment approved"
    ADJUSTMENT_REJECT = "adjustment.reject", "Adjustment rejected"
    REVERSAL_POST = "reversal.post", "Transaction reversed"
    REVERSAL_PROPOSE = "reversal.propose", "Reversal requested"
    REVERSAL_APPROVE = "reversal.approve", "Reversal approved"
    REVERSAL_REJECT = "reversal.reject", "Reversal rejected"
    ENCRYPTION_KEY_ROTATE = "encryption_key.rotate", "Encryption key rotated"


class AuditEvent(models.Model):
    """One audited action. Never updated, never deleted (database-enforced)."""

    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Snapshot of the actor's username ("system" when there is no actor): stays readable forever.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=255, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-id"], name="audit_event_target_idx"),
            models.Index(fields=["actor", "-id"], name="audit_event_actor_idx"),
            models.Index(fields=["action", "-id"], name="audit_event_action_idx"),
            models.Index(fields=["occurred_at"], name="audit_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_repr}"


class LedgerVerificationRun(models.Model):
    """One run of the hourly ``verify_ledger`` job (Celery beat): the admin dashboard shows the
    latest, in red when it found discrepancies or could not run."""

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    discrepancy_count = models.PositiveIntegerField(default=0)
    # The first discrepancies ({check, subject, detail}); the full list comes from `manage.py verify_ledger`.
    discrepancies = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the run itself failed (e.g. database unreachable)")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'FAILED'}"
