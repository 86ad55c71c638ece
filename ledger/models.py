"""The append-only double-entry ledger.

A :class:`LedgerTransaction` moves ``amount`` of one currency from ``debit_wallet`` to
``credit_wallet``; once posted it has entries (one debit, one credit, positive amounts, each with
the wallet's ``balance_after``) that net to zero per currency. PostgreSQL enforces the rules
(see ``ledger/sql/``): a deferred constraint trigger checks the netting at commit, posted
transactions and all entries can be neither updated nor deleted, and a transaction's status only
moves pending -> posted/voided/failed. Pending withdrawals are holds (``Wallet.held``) without
entries; they get their entries when posted.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from wallets.models import Wallet, money_field
from wallets.money import format_amount


class TransactionType(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    TRANSFER = "transfer", "Transfer"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"


class TransactionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"
    VOIDED = "voided", "Voided"
    FAILED = "failed", "Failed"


class Direction(models.TextChoices):
    DEBIT = "debit", "Debit"
    CREDIT = "credit", "Credit"


class LedgerTransaction(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=16, choices=TransactionType.choices)
    status = models.CharField(max_length=8, choices=TransactionStatus.choices, default=TransactionStatus.PENDING)
    currency = models.CharField(max_length=3)
    amount = money_field()
    # Indexed by the composite (wallet, -id) indexes below; no separate FK index (hot-path inserts).
    debit_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+", db_index=False)
    credit_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+", db_index=False)
    description = models.CharField(max_length=255, blank=True, default="")
    # The payment provider's id of the payment or payout, when there is one.
    reference = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A posted transaction is reversed at most once: the unique one-to-one makes that a DB rule.
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    # When the status left pending (posted, voided or failed).
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["debit_wallet", "-id"], name="ledger_txn_debit_wallet_idx"),
            models.Index(fields=["credit_wallet", "-id"], name="ledger_txn_credit_wallet_idx"),
            models.Index(
                fields=["debit_wallet"],
                condition=Q(status="pending", type="withdrawal"),
                name="ledger_txn_pending_hold_idx",
            ),
            # Webhooks and reconciliation find a transaction by the provider's object id.
            models.Index(fields=["reference"], condition=~Q(reference=""), name="ledger_txn_reference_idx"),
            # /metrics reads pending deposits/withdrawals by age on every scrape (ledger/metrics.py).
            models.Index(
                fields=["type", "created_at"], condition=Q(status="pending"), name="ledger_txn_pending_age_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_txn_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_wallet=F("credit_wallet")), name="ledger_txn_distinct_wallets"),
            models.CheckConstraint(condition=Q(status__in=TransactionStatus.values), name="ledger_txn_status_valid"),
            models.CheckConstraint(condition=Q(type__in=TransactionType.values), name="ledger_txn_type_valid"),
            models.CheckConstraint(
                condition=Q(status="posted", posted_at__isnull=False)
                | (~Q(status="posted") & Q(posted_at__isnull=True)),
                name="ledger_txn_posted_at_iff_posted",
            ),
            models.CheckConstraint(
                condition=Q(type="reversal", reverses__isnull=False) | (~Q(type="reversal") & Q(reverses__isnull=True)),
                name="ledger_txn_reversal_link",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {format_amount(self.amount, self.currency)} {self.currency} [{self.status}]"


class LedgerEntry(models.Model):
    """One leg of a posted transaction. Never updated, never deleted."""

    # Both indexed by the composite indexes/constraints below (no separate FK indexes).
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries", db_index=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries", db_index=False)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = money_field()
    currency = models.CharField(max_length=3)
    # The wallet's balance right after this entry (entries of a wallet are ordered by id).
    balance_after = money_field()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["wallet", "id"], name="ledger_entry_wallet_id_idx"),
            models.Index(fields=["wallet", "created_at"], name="ledger_entry_wallet_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_entry_amount_positive"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="ledger_entry_direction_valid"),
            models.UniqueConstraint(fields=["transaction", "wallet"], name="ledger_entry_one_leg_per_wallet"),
        ]

    def __str__(self) -> str:
        amount = format_amount(self.amount, self.currency)
        return f"{self.direction} {amount} {self.currency} on wallet {self.wallet_id}"


class IdempotencyKey(models.Model):
    """An idempotency key of a money operation, per user, with the fingerprint of its input.

    Claimed (inserted) before the operation runs; ``transaction`` is set inside the money
    service's own atomic block, so money and key commit together; ``outcome`` records what the
    operation answered (see ``ledger.idempotency``), never transport bytes.
    """

    # No single-column FK indexes: every request inserts a key and updates it, and each index is
    # written on every insert and on every update that cannot be HOT. Lookups by user use the
    # unique (user, key) index; nothing looks keys up by transaction, and transactions are never
    # deleted (the ledger's triggers), so SET_NULL never has to find them.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    transaction = models.ForeignKey(
        LedgerTransaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # {"transactions": [{id, status, reference, posted_at}], "result": {...}} or {"error": {...}};
    # NULL while the operation runs.
    outcome = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    locked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="ledger_idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="ledger_idem_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class ApprovalKind(models.TextChoices):
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ApprovalRequest(models.Model):
    """A back-office money operation waiting for a second person (maker-checker).

    A staff member proposes an adjustment (credit or debit of ``wallet`` against the equity
    account) or the reversal of ``original``; another user of role admin or above approves it
    (which posts it through the ledger services, ``posted`` links the result) or rejects it.
    PostgreSQL keeps the four-eyes rule (``decided_by`` is never ``proposed_by``) and allows one
    pending reversal per transaction; ``ledger.approvals`` holds the rest of the rules.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=ApprovalKind.choices)
    status = models.CharField(max_length=8, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    # Adjustments: the wallet, and whether it is credited or debited. Reversals: the wallet is null.
    wallet = models.ForeignKey(Wallet, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=6, choices=Direction.choices, blank=True, default="")
    original = models.ForeignKey(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reversal_requests"
    )
    currency = models.CharField(max_length=3)
    amount = money_field()
    reason = models.TextField()
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")
    posted = models.OneToOneField(
        LedgerTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="approval"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"], name="ledger_approval_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_approval_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=ApprovalKind.values), name="ledger_approval_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ApprovalStatus.values), name="ledger_approval_status_valid"),
            models.CheckConstraint(
                condition=Q(
                    kind=ApprovalKind.ADJUSTMENT,
                    wallet__isnull=False,
                    direction__in=Direction.values,
                    original__isnull=True,
                )
                | Q(kind=ApprovalKind.REVERSAL, wallet__isnull=True, direction="", original__isnull=False),
                name="ledger_approval_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(status=ApprovalStatus.PENDING, decided_by__isnull=True, decided_at__isnull=True)
                | (
                    ~Q(status=ApprovalStatus.PENDING)
                    & Q(decided_by__isnull=False, decided_at__isnull=False)
                    & ~Q(decided_by=F("proposed_by"))
                ),
                name="ledger_approval_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status=ApprovalStatus.APPROVED, posted__isnull=False)
                | (~Q(status=ApprovalStatus.APPROVED) & Q(posted__isnull=True)),
                name="ledger_approval_posted_iff_approved",
            ),
            models.UniqueConstraint(
                fields=["original"],
                condition=Q(status=ApprovalStatus.PENDING),
                name="ledger_approval_one_pending_reversal",
            ),
        ]

    def __str__(self) -> str:
        amount = format_amount(self.amount, self.currency)
        if self.kind == ApprovalKind.ADJUSTMENT:
            return f"{self.direction} adjustment of {amount} {self.currency} [{self.status}]"
        return f"reversal of {amount} {self.currency} [{self.status}]"
