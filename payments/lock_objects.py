"""The ONE way to lock payments rows: ``SELECT ... ORDER BY id FOR UPDATE`` in one query.

Locks are taken inside the caller's atomic block and held only for the short write; never
across a call to Stripe. Multi-row locks are taken in ascending primary-key order.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Model, Q

from payments.models import BankAccount, ReconciliationIssue, StripeEvent


def stripe_event_lock(*, pk: int) -> StripeEvent | None:
    """Lock one stored Stripe event (or return None when it does not exist)."""
    return StripeEvent.objects.select_for_update().filter(pk=pk).first()


def bank_account_lock(*, pk: UUID, owner_id: int) -> BankAccount | None:
    """Lock one of the owner's active bank accounts (None when absent, deleted or someone else's)."""
    return BankAccount.objects.select_for_update().filter(pk=pk, owner_id=owner_id, deleted_at__isnull=True).first()


def rows_lock_batch(*, model: type[Model], condition: Q, limit: int) -> list[Model]:
    """The first ``limit`` rows of ``model`` matching ``condition``, locked in ascending pk order."""
    return list(model._default_manager.select_for_update(of=("self",)).filter(condition).order_by("pk")[:limit])


def reconciliation_issue_lock(*, pk: int) -> ReconciliationIssue | None:
    """Lock one reconciliation issue (or return None when it does not exist)."""
    return ReconciliationIssue.objects.select_for_update().filter(pk=pk).first()
