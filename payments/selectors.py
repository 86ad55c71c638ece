"""Reads of payments: functions returning querysets, with filtering and select_related."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Min, Q, QuerySet

from accounts.models import User
from payments.exceptions import BankAccountNotFound
from payments.models import BankAccount, StripeEvent, StripeEventStatus
from vaultcore.aggregates import daily_counts


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


# --- Back-office dashboard ------------------------------------------------------------------------
@dataclass(frozen=True)
class StripeEventHealth:
    failed: int
    stuck: int  # still ``received`` long after arriving, no live worker on it
    oldest_stuck_at: datetime | None


def _stuck_or_failed(*, received_before: datetime, now: datetime) -> Q:
    stuck = Q(status=StripeEventStatus.RECEIVED, received_at__lt=received_before) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    return stuck | Q(status=StripeEventStatus.FAILED)


def stripe_event_health(*, received_before: datetime, now: datetime) -> StripeEventHealth:
    """Failed events, and events stuck in ``received`` since before ``received_before`` (one query)."""
    failed = Q(status=StripeEventStatus.FAILED)
    row = StripeEvent.objects.filter(_stuck_or_failed(received_before=received_before, now=now)).aggregate(
        failed=Count("id", filter=failed), stuck=Count("id", filter=~failed), oldest=Min("received_at", filter=~failed)
    )
    return StripeEventHealth(failed=row["failed"], stuck=row["stuck"], oldest_stuck_at=row["oldest"])


def stripe_event_list_needing_attention(*, received_before: datetime, now: datetime) -> QuerySet[StripeEvent]:
    """Failed and stuck events (see :func:`stripe_event_health`), oldest first."""
    return StripeEvent.objects.filter(_stuck_or_failed(received_before=received_before, now=now)).order_by(
        "received_at", "pk"
    )


def stripe_event_daily_failures(*, since: datetime) -> list[Mapping[str, Any]]:
    """Events ``failed`` (as last updated) at or after ``since``, per UTC day: ``day``, ``n``."""
    failed = StripeEvent.objects.filter(status=StripeEventStatus.FAILED, updated_at__gte=since)
    return daily_counts(failed, field="updated_at")
