"""Writes of payments: every state change goes through a function here."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import stripe
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import Role, User
from ledger.models import LedgerTransaction
from outbox.models import OutboxMessage, OutboxStatus
from outbox.services import outbox_enqueue
from payments import crypto
from payments.exceptions import (
    BankAccountNotFound,
    DecryptionFailed,
    InvalidWebhookPayload,
    InvalidWebhookSignature,
    ReconciliationIssueNotOpen,
    ReconciliationPermissionDenied,
    ResolutionNoteRequired,
    StripeEventNotRetryable,
    WebhookNotConfigured,
)
from payments.lock_objects import bank_account_lock, reconciliation_issue_lock, rows_lock_batch, stripe_event_lock
from payments.models import (
    BankAccount,
    ReconciliationIssue,
    ReconciliationIssueKind,
    ReconciliationIssueStatus,
    StripeEvent,
    StripeEventStatus,
)
from payments.selectors import stripe_event_list_stale_received
from payments.stripe_events import stripe_event_handler_for
from payments.validators import account_number_last4
from wallets.models import Wallet

logger = logging.getLogger("payments")

_MAX_ERROR_CHARS = 2000


# --- Bank accounts ---------------------------------------------------------------------------
@transaction.atomic(durable=True)
def bank_account_create(
    *,
    owner: User,
    account_holder_name: str,
    bank_name: str,
    account_number: str,
    routing_number: str,
    country: str,
    currency: str,
) -> BankAccount:
    """Store a bank account; the four sensitive details are encrypted before they reach SQL.

    Values are expected already normalised by ``payments.validators`` (the input serializer).
    """
    account = BankAccount(
        owner=owner,
        account_number_last4=account_number_last4(account_number),
        country=country,
        currency=currency,
    )
    # The pk (a Python-side UUID) exists now, so each ciphertext is bound to this row.
    account.account_holder_name = account_holder_name
    account.bank_name = bank_name
    account.account_number = account_number
    account.routing_number = routing_number
    account.save(force_insert=True)
    logger.info("bank account %s created for user %s (••••%s)", account.pk, owner.pk, account.account_number_last4)
    return account


@transaction.atomic(durable=True)
def bank_account_delete(*, bank_account_id: UUID, acting_user: User) -> None:
    """Hide one of ``acting_user``'s bank accounts. The row stays: withdrawals may reference it."""
    account = bank_account_lock(pk=bank_account_id, owner_id=acting_user.pk)
    if account is None:
        raise BankAccountNotFound()
    account.deleted_at = timezone.now()
    account.save(update_fields=["deleted_at"])
    logger.info("bank account %s deleted by user %s", account.pk, acting_user.pk)


# --- Encryption key rotation -----------------------------------------------------------------
@dataclass
class RotationReport:
    """What a rotation run did (or, with ``dry_run``, would do)."""

    key_id: str
    dry_run: bool
    batches: int = 0
    rows: int = 0
    values: int = 0
    remaining: dict[str, int] = field(default_factory=dict)
    per_model: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "dry_run": self.dry_run,
            "batches": self.batches,
            "rows": self.rows,
            "values": self.values,
            "per_model": self.per_model,
            "remaining": self.remaining,
        }


def encrypted_models() -> list[tuple[type[models.Model], list[crypto.EncryptedTextField]]]:
    """Every installed model with encrypted columns, and those columns."""
    found = []
    for model in apps.get_models():
        fields = crypto.encrypted_fields(model)
        if fields:
            found.append((model, fields))
    return found


def _needs_rotation(fields: list[crypto.EncryptedTextField], prefix: str) -> Q:
    condition = Q()
    for f in fields:
        condition |= Q(**{f"{f.attname}__isnull": False}) & ~Q(**{f"{f.attname}__startswith": prefix})
    return condition


def encryption_key_rotate(
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_batch: Callable[[RotationReport], None] | None = None,
) -> RotationReport:
    """Re-encrypt every encrypted value that is not on the newest key (the ring's first).

    Works in batches, each its own short transaction that locks its rows in pk order, so an
    interrupted run loses at most one uncommitted batch; a re-run picks up the rows still on an
    old key (values already on the newest key are never touched). ``on_batch`` is called after
    each committed batch (progress output).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ring = crypto.key_ring()
    prefix = ring.prefix()
    report = RotationReport(key_id=ring.primary_kid, dry_run=dry_run)
    for model, fields in encrypted_models():
        label = model._meta.label
        condition = _needs_rotation(fields, prefix)
        if dry_run:
            report.remaining[label] = model._default_manager.filter(condition).count()
            continue
        report.per_model[label] = 0
        while True:
            with transaction.atomic(durable=True):
                rows = rows_lock_batch(model=model, condition=condition, limit=batch_size)
                for row in rows:
                    changed = []
                    for f in fields:
                        stored = getattr(row, f.attname)
                        if stored is None or stored.startswith(prefix):
                            continue
                        try:
                            plaintext = f.decrypt_value(row, ring)
                        except DecryptionFailed as exc:
                            raise DecryptionFailed(
                                f"{label} {row.pk}: {f.plaintext_name} could not be decrypted ({exc.detail}) "
                                "Is the key that encrypted it still in ENCRYPTION_KEYS? Nothing in this batch "
                                "was changed; earlier batches are committed."
                            ) from None
                        f.encrypt_value(row, plaintext, ring)
                        changed.append(f.attname)
                        report.values += 1
                    row.save(update_fields=changed)
            if not rows:
                break
            report.batches += 1
            report.rows += len(rows)
            report.per_model[label] += len(rows)
            if on_batch is not None:
                on_batch(report)
        report.remaining[label] = model._default_manager.filter(condition).count()
    logger.info(
        "encryption key rotation to %s: %d values in %d rows, dry_run=%s",
        ring.primary_kid,
        report.values,
        report.rows,
        dry_run,
    )
    return report


# --- Stripe webhooks -------------------------------------------------------------------------
def _stripe_created(value: object) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def stripe_event_receive(*, payload: bytes, signature: str | None) -> tuple[StripeEvent, bool]:
    """Verify a webhook delivery and store its event once; return (event, created).

    The ``Stripe-Signature`` header is checked by the SDK (``WebhookSignature.verify_header``:
    HMAC-SHA256 with ``STRIPE_WEBHOOK_SECRET``, 300 s tolerance) before anything is parsed or
    stored. A new event and the outbox row that processes it are written in one transaction; a
    duplicate delivery changes nothing.
    """
    secret: str = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        raise WebhookNotConfigured()
    if not signature:
        raise InvalidWebhookSignature("The Stripe-Signature header is missing.")
    try:
        # Signature and recency only; the body is parsed below (construct_event would crash on
        # a signed body that is valid JSON but not an object).
        stripe.WebhookSignature.verify_header(payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE)
    except stripe.SignatureVerificationError:
        logger.warning("stripe webhook refused: signature invalid or outside the tolerance window")
        raise InvalidWebhookSignature() from None
    except ValueError:
        raise InvalidWebhookPayload() from None
    try:
        data = json.loads(payload)
    except ValueError:
        raise InvalidWebhookPayload() from None
    if not isinstance(data, dict):
        raise InvalidWebhookPayload()
    event_id, event_type = data.get("id"), data.get("type")
    if data.get("object") != "event" or not isinstance(event_id, str) or not isinstance(event_type, str):
        raise InvalidWebhookPayload()
    if not (0 < len(event_id) <= 255 and 0 < len(event_type) <= 255):
        raise InvalidWebhookPayload()

    with transaction.atomic(durable=True):
        event, created = StripeEvent.objects.get_or_create(
            stripe_id=event_id,
            defaults={
                "type": event_type,
                "livemode": bool(data.get("livemode", False)),
                "api_version": str(data.get("api_version") or "")[:64],
                "stripe_created_at": _stripe_created(data.get("created")),
                "payload": data,
            },
        )
        if created:
            _enqueue_processing(event.pk)
    logger.info("stripe event %s (%s) %s", event_id, event_type, "stored" if created else "duplicate ignored")
    return event, created


def _enqueue_processing(event_pk: int) -> None:
    """An outbox row that runs ``payments.tasks.process_stripe_event`` after commit (or, with the
    broker down, once it is back)."""
    outbox_enqueue(topic="payments.stripe_event_process", payload={"event_pk": event_pk})


def _describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]


# A worker's claim on an event outlives the processing task's hard time limit
# (payments/tasks.py); after it expires (the worker died) the sweep queues the event again.
STRIPE_EVENT_LEASE = timedelta(seconds=40)


@transaction.atomic(durable=True)
def _stripe_event_claim(*, event_id: int) -> tuple[StripeEvent | None, uuid.UUID | None]:
    """Lock the event row and, if it is ``received`` and not leased, lease it to this worker."""
    event = stripe_event_lock(pk=event_id)
    if event is None or event.status != StripeEventStatus.RECEIVED or event.is_being_processed:
        return event, None
    event.attempts += 1
    if stripe_event_handler_for(event.type) is None:
        event.status = StripeEventStatus.PROCESSED
        event.note = _ignore_event(event)
        event.error = ""
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "attempts", "note", "error", "processed_at", "updated_at"])
        return event, None
    event.claim_token = uuid.uuid4()
    event.locked_until = timezone.now() + STRIPE_EVENT_LEASE
    event.save(update_fields=["attempts", "claim_token", "locked_until", "updated_at"])
    return event, event.claim_token


@transaction.atomic(durable=True)
def _stripe_event_finish(*, event_id: int, token: uuid.UUID, note: str | None, error: str | None) -> StripeEvent | None:
    """Record the handler's outcome, unless this worker's lease was lost meanwhile."""
    event = stripe_event_lock(pk=event_id)
    if event is None or event.claim_token != token:
        logger.warning("stripe event pk=%s: lease lost before the outcome was recorded", event_id)
        return event
    if error is None:
        event.status = StripeEventStatus.PROCESSED
        event.note = note or ""
        event.error = ""
        event.processed_at = timezone.now()
    else:
        event.status = StripeEventStatus.FAILED
        event.error = error
    event.claim_token = None
    event.locked_until = None
    event.save(update_fields=["status", "note", "error", "processed_at", "claim_token", "locked_until", "updated_at"])
    return event


def _ignore_event(event: StripeEvent) -> str:
    return f"Ignored: no handler for event type {event.type}."


def stripe_event_process(*, event_id: int) -> StripeEvent | None:
    """Run the handler of one stored event; at most one worker at a time, never after success.

    1. a short transaction locks the event row and leases a ``received`` event to this worker
       (events of types without a handler are marked processed right there);
    2. the handler runs OUTSIDE any transaction, so it can call the ledger's durable services
       (each its own atomic block, with its own row locks);
    3. a short transaction records ``processed`` (with the handler's note) or ``failed`` (with
       the error) and ends the lease.

    Only ``received`` events are processed; ``processed`` and ``failed`` ones are left alone (a
    failed one goes back to ``received`` through :func:`stripe_event_retry`). If the worker dies
    between 2 and 3, the event is processed again once the lease expires — handlers must be
    idempotent, as the ledger's settle/post/void services are.
    """
    event, token = _stripe_event_claim(event_id=event_id)
    if event is None or token is None:
        return event
    # The claim only leases events whose type has a handler.
    handler = stripe_event_handler_for(event.type) or _ignore_event
    note: str | None = None
    error: str | None = None
    try:
        note = handler(event)
    except Exception as exc:  # any handler failure is recorded on the event, never lost
        error = _describe_error(exc)
        logger.warning(
            "stripe event %s (%s) failed on attempt %d: %s",
            event.stripe_id,
            event.type,
            event.attempts,
            type(exc).__name__,
        )
    return _stripe_event_finish(event_id=event_id, token=token, note=note, error=error)


@transaction.atomic(durable=True)
def stripe_event_retry(*, event: StripeEvent, acting_user: User | None = None) -> StripeEvent:
    """Queue a failed event, or one stuck in ``received`` (not leased to a live worker), for
    processing again; a failed one goes back to ``received``."""
    locked = stripe_event_lock(pk=event.pk)
    if locked is None or not stripe_event_is_retryable(locked):
        raise StripeEventNotRetryable()
    who = acting_user.get_username() if acting_user is not None else "system"
    locked.status = StripeEventStatus.RECEIVED
    locked.note = f"Retry requested by {who} at {timezone.now().isoformat()} (previous error kept until it succeeds)."
    locked.save(update_fields=["status", "note", "updated_at"])
    _enqueue_processing(locked.pk)
    logger.info("stripe event %s retry requested by %s", locked.stripe_id, who)
    return locked


def stripe_event_is_retryable(event: StripeEvent) -> bool:
    """Failed, or ``received`` and not leased to a live worker (its worker died, or its message
    was lost)."""
    if event.status == StripeEventStatus.FAILED:
        return True
    return event.status == StripeEventStatus.RECEIVED and not event.is_being_processed


def stripe_events_requeue_stale(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Queue again the events still ``received`` after ``older_than_seconds`` whose lease expired
    (their worker died mid-handler) or that no worker took (their task was lost), unless an outbox
    row for them is still waiting (the broker is down: the relay hands it over when it is back)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    waiting = (
        OutboxMessage.objects.filter(topic="payments.stripe_event_process", status=OutboxStatus.PENDING)
        .annotate(event_pk=Cast(KT("payload__event_pk"), models.BigIntegerField()))
        .values("event_pk")
    )
    stale = stripe_event_list_stale_received(received_before=cutoff, now=now).exclude(pk__in=waiting)
    pks = list(stale.values_list("pk", flat=True)[:limit])
    with transaction.atomic(durable=True):
        for pk in pks:
            _enqueue_processing(pk)
    if pks:
        logger.info("stripe events queued again (lease expired or task lost): %d", len(pks))
    return len(pks)


# --- Reconciliation issues -------------------------------------------------------------------
def reconciliation_issue_record(
    *,
    kind: ReconciliationIssueKind,
    detail: str,
    stripe_object_id: str = "",
    stripe_event_id: str = "",
    ledger_transaction: LedgerTransaction | None = None,
    wallet: Wallet | None = None,
    expected: dict[str, Any] | None = None,
    actual: dict[str, Any] | None = None,
) -> ReconciliationIssue:
    """Record a disagreement between Stripe and the ledger for staff, once: while an issue of
    this kind is open for this Stripe object, recording it again returns the open one (the
    partial unique constraint decides races). Joins the caller's transaction if there is one."""
    fields = {
        "detail": detail[:_MAX_ERROR_CHARS],
        "stripe_event_id": stripe_event_id[:255],
        "ledger_transaction": ledger_transaction,
        "wallet": wallet,
        "expected": expected or {},
        "actual": actual or {},
    }
    with transaction.atomic():
        issue, created = ReconciliationIssue.objects.get_or_create(
            kind=kind, stripe_object_id=stripe_object_id[:255], status=ReconciliationIssueStatus.OPEN, defaults=fields
        )
    if created:
        logger.warning("reconciliation issue %s recorded: %s %s", issue.pk, kind, stripe_object_id or "-")
    return issue


@transaction.atomic(durable=True)
def reconciliation_issue_resolve(*, issue: ReconciliationIssue, acting_user: User, note: str) -> ReconciliationIssue:
    """Close an open issue with the staff member's note (what was done about it)."""
    if not acting_user.has_role_at_least(Role.STAFF):
        raise ReconciliationPermissionDenied()
    note = note.strip()
    if not note:
        raise ResolutionNoteRequired()
    locked = reconciliation_issue_lock(pk=issue.pk)
    if locked is None or locked.status != ReconciliationIssueStatus.OPEN:
        raise ReconciliationIssueNotOpen()
    locked.status = ReconciliationIssueStatus.RESOLVED
    locked.resolution_note = note[:_MAX_ERROR_CHARS]
    locked.resolved_by = acting_user
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
    logger.info("reconciliation issue %s resolved by %s", locked.pk, acting_user.get_username())
    return locked
