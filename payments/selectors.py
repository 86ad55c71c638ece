"""Reads of payments: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet

from accounts.models import User
from payments.exceptions import BankAccountNotFound
from payments.models import BankAccount, StripeEvent, StripeEventStatus


def bank_account_list(*, owner: User) -> QuerySet[BankAccount]:
    """The owner's active (not deleted) bank accounts, newest first."""
    return BankAccount.objects.filter(owner=owner, deleted_at__isnull=True).order_by("-created_at", "-id")


def bank_account_get(*, owner: User, bank_account_id: UUID) -> BankAccount:
    """One of the owner's active bank accounts; anyone else's (or a deleted one) is not found."""
    account = bank_account_list(owner=owner).filter(pk=bank_account_id).first()
    if account is None:
        raise BankAccountNotFound()
    return account


def stripe_event_list_stale_received(*, received_before: datetime, now: datetime) -> QuerySet[StripeEvent]:
    """Events ``received`` before ``received_before``, not leased to a live worker (oldest first)."""
    return (
        StripeEvent.objects.filter(status=StripeEventStatus.RECEIVED, received_at__lt=received_before)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("received_at", "pk")
    )
