"""Database models of payments."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from payments.crypto import EncryptedTextField


class BankAccount(models.Model):
    """A user's payout destination. Sensitive details are AES-256-GCM ciphertext at rest.

    The primary key is a UUID generated in Python: it is part of each ciphertext's associated
    data, so it must exist before the first save. Rows are never deleted (withdrawals may
    reference them); ``deleted_at`` hides them from their owner.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bank_accounts")
    account_holder_name_encrypted = EncryptedTextField(plaintext_name="account_holder_name")
    bank_name_encrypted = EncryptedTextField(plaintext_name="bank_name")
    account_number_encrypted = EncryptedTextField(plaintext_name="account_number")
    routing_number_encrypted = EncryptedTextField(plaintext_name="routing_number")
    account_number_last4 = models.CharField(max_length=4)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    # Stripe's id of this account as an external account of the platform (``ba_...``), set by
    # onboarding or staff; payouts of withdrawals to this account go there (see README).
    stripe_external_account_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Declared by EncryptedTextField.contribute_to_class (plaintext views of the columns above).
    account_holder_name: str
    bank_name: str
    account_number: str
    routing_number: str

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="bankacct_owner_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_number_last4__regex=r"^[0-9]{4}$"), name="bankacct_last4_digits"
            ),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="bankacct_country_alpha2"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="bankacct_currency_iso"),
            # Ciphertext only: a plaintext value can never be written to these columns.
            *(
                models.CheckConstraint(condition=Q(**{f"{column}__startswith": "v1:"}), name=f"bankacct_{column}_v1")
                for column in (
                    "account_holder_name_encrypted",
                    "bank_name_encrypted",
                    "account_number_encrypted",
                    "routing_number_encrypted",
                )
            ),
        ]

    def __str__(self) -> str:
        return f"Bank account ••••{self.account_number_last4} ({self.country}, {self.currency})"

    @property
    def masked_account_number(self) -> str:
        return f"••••{self.account_number_last4}"


class StripeEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class StripeEvent(models.Model):
    """One verified Stripe webhook event, stored once per Stripe event id.

    Moves received -> processed | failed (error kept); a failed event can be retried, which
    moves it back to received. While a worker runs its handler the event stays ``received``
    with a lease (``locked_until``, ``claim_token``) so no other worker runs it at the same time.
    """

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=255, db_index=True)
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=64, blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True, help_text="When Stripe created the event")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=StripeEventStatus.choices, default=StripeEventStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    note = models.TextField(blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the worker running the handler")
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="stripeevent_status_idx")]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.status})"

    @property
    def is_being_processed(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class ReconciliationIssueKind(models.TextChoices):
    AMOUNT_MISMATCH = "amount_mismatch", "Amount mismatch"
    CURRENCY_MISMATCH = "currency_mismatch", "Currency mismatch"
    STATUS_MISMATCH = "status_mismatch", "Status mismatch"
    UNKNOWN_OBJECT = "unknown_object", "Unknown Stripe object"
    TRANSACTION_MISMATCH = "transaction_mismatch", "Object belongs to another transaction"
    UNBOOKED_REFUND = "unbooked_refund", "Refund or dispute not booked"
    RECEIVABLE = "receivable", "Shortfall booked as receivable (wallet frozen)"
    DISPUTE_REINSTATED = "dispute_reinstated", "Dispute won: funds reinstated by Stripe"


class ReconciliationIssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class ReconciliationIssue(models.Model):
    """A disagreement between Stripe and the ledger that the code did not settle by itself.

    Recorded by webhook handlers and the reconciliation job (never for money it could settle);
    staff resolve it with a note from the admin. At most one OPEN issue per (kind, Stripe object).
    """

    kind = models.CharField(max_length=32, choices=ReconciliationIssueKind.choices)
    status = models.CharField(
        max_length=16, choices=ReconciliationIssueStatus.choices, default=ReconciliationIssueStatus.OPEN
    )
    stripe_object_id = models.CharField(max_length=255, blank=True, help_text="pi_..., po_..., ch_..., dp_...")
    stripe_event_id = models.CharField(max_length=255, blank=True)
    ledger_transaction = models.ForeignKey(
        "ledger.LedgerTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    wallet = models.ForeignKey("wallets.Wallet", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    detail = models.TextField(help_text="What disagrees (no secrets, no account numbers)")
    expected = models.JSONField(default=dict, blank=True)
    actual = models.JSONField(default=dict, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="recon_issue_status_kind_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "stripe_object_id"],
                condition=Q(status="open"),
                name="recon_issue_one_open_per_object",
            ),
            models.CheckConstraint(condition=Q(kind__in=ReconciliationIssueKind.values), name="recon_issue_kind_valid"),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True) | Q(status="resolved", resolved_at__isnull=False),
                name="recon_issue_resolved_at_iff_resolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.stripe_object_id} ({self.status})"
