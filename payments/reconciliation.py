"""Reconciliation: pending Stripe deposits and withdrawals that no webhook settled in time.

Finds deposits and withdrawals still ``pending`` after ``RECONCILIATION_PENDING_MINUTES``,
fetches their PaymentIntent / Payout from Stripe and settles them through the SAME functions as
the webhook handlers (:mod:`payments.settlement`); mismatches become reconciliation issues.
A withdrawal whose payout was never created (the broker was down, the worker died) gets its
payout requested again, with the same idempotency key (so at most one payout exists).

Only one run at a time across all hosts (``single_run_lock``). Never called under a row lock.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.services.pending import transaction_reference_set
from payments import settlement, stripe_client
from payments.exceptions import JobLockUnavailable, StripeRequestRejected, StripeUnavailable
from payments.job_lock import single_run_lock
from payments.models import ReconciliationIssueKind
from payments.payouts import payout_request
from payments.providers import ProviderError, ProviderStatus
from payments.providers.stripe import StripeProvider
from payments.services import reconciliation_issue_record

logger = logging.getLogger("payments.reconciliation")

LOCK_NAME = "payments:reconcile"
# PaymentIntent states in which no money has been collected yet (abandonment candidates).
_UNPAID = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


@dataclass
class ReconciliationReport:
    """What one run saw and did (with ``dry_run``: would do)."""

    dry_run: bool
    cutoff: str
    since: str | None
    deposits_checked: int = 0
    withdrawals_checked: int = 0
    payouts_requested: int = 0
    unavailable: int = 0
    outcomes: list[dict[str, str]] = field(default_factory=list)

    def add(self, txn: LedgerTransaction, outcome: str) -> None:
        self.outcomes.append({"transaction": str(txn.public_id), "type": txn.type, "outcome": outcome})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stale_pending(*, type: TransactionType, cutoff: datetime, since: datetime | None) -> QuerySet[LedgerTransaction]:
    """Pending transactions of ``type`` created before ``cutoff`` (and at/after ``since``), oldest first."""
    qs = LedgerTransaction.objects.filter(type=type, status=TransactionStatus.PENDING, created_at__lt=cutoff)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return qs.order_by("created_at", "pk")


def payments_reconcile(
    *, since: datetime | None = None, dry_run: bool = False, limit: int = 500, now: datetime | None = None
) -> ReconciliationReport:
    """Reconcile stale pending Stripe deposits and withdrawals (one run at a time across hosts;
    raises JobLockUnavailable when another run holds the lock)."""
    with single_run_lock(LOCK_NAME) as acquired:
        if not acquired:
            raise JobLockUnavailable()
        return _reconcile(since=since, dry_run=dry_run, limit=limit, now=now or timezone.now())


def _reconcile(*, since: datetime | None, dry_run: bool, limit: int, now: datetime) -> ReconciliationReport:
    cutoff = now - timedelta(minutes=settings.RECONCILIATION_PENDING_MINUTES)
    report = ReconciliationReport(
        dry_run=dry_run, cutoff=cutoff.isoformat(), since=since.isoformat() if since else None
    )
    for txn in stale_pending(type=TransactionType.DEPOSIT, cutoff=cutoff, since=since)[:limit]:
        report.deposits_checked += 1
        try:
            report.add(txn, _deposit(txn, dry_run=dry_run, now=now))
        except StripeUnavailable:
            report.unavailable += 1
            report.add(txn, "Stripe unavailable; checked again next run.")
    for txn in stale_pending(type=TransactionType.WITHDRAWAL, cutoff=cutoff, since=since)[:limit]:
        report.withdrawals_checked += 1
        try:
            outcome = _withdrawal(txn, dry_run=dry_run, report=report)
        except (StripeUnavailable, ProviderError):
            report.unavailable += 1
            outcome = "Stripe unavailable; checked again next run."
        report.add(txn, outcome)
    logger.info(
        "reconciliation%s: %d deposits, %d withdrawals checked, %d payouts requested, %d unavailable",
        " (dry run)" if dry_run else "",
        report.deposits_checked,
        report.withdrawals_checked,
        report.payouts_requested,
        report.unavailable,
    )
    return report


def _unknown(txn: LedgerTransaction, object_id: str, exc: StripeRequestRejected, *, dry_run: bool) -> str:
    if dry_run:
        return f"Would record: Stripe does not know {object_id} ({exc.http_status})."
    issue = reconciliation_issue_record(
        kind=ReconciliationIssueKind.UNKNOWN_OBJECT,
        detail=(
            f"Pending {txn.type} {txn.public_id} references {object_id}, "
            f"which Stripe does not know ({exc.http_status})."
        ),
        stripe_object_id=object_id,
        ledger_transaction=txn,
    )
    return f"Not settled: unknown Stripe object (reconciliation issue {issue.pk})."


def _deposit(txn: LedgerTransaction, *, dry_run: bool, now: datetime) -> str:
    if txn.reference:
        try:
            intent = stripe_client.retrieve_payment_intent(txn.reference)
        except StripeRequestRejected as exc:
            return _unknown(txn, txn.reference, exc, dry_run=dry_run)
    elif dry_run:
        return "Would look up the PaymentIntent (no reference recorded) with the deposit's idempotency key."
    else:
        # The create call's answer was lost: the same key and parameters replay the original
        # PaymentIntent (or create the one the deposit should have had).
        try:
            intent = StripeProvider.payment_intent_for(txn)
        except StripeRequestRejected as exc:
            return f"Not settled: Stripe refused to look up the PaymentIntent ({exc.http_status} {exc.stripe_code})."
    pi = intent.to_dict()
    status = pi.get("status")
    abandoned = status in _UNPAID and txn.created_at < now - timedelta(hours=settings.RECONCILIATION_ABANDON_HOURS)
    if dry_run:
        action = "would cancel it (abandoned)" if abandoned else "would settle accordingly"
        return f"PaymentIntent {pi.get('id')} is {status}; {action}."
    if not txn.reference:
        transaction_reference_set(transaction_id=txn.pk, reference=str(pi.get("id")), provider="stripe")
    if abandoned:
        try:
            pi = stripe_client.cancel_payment_intent(
                str(pi["id"]), idempotency_key=stripe_client.idempotency_key_for("deposit-abandon", txn.public_id)
            ).to_dict()
        except StripeRequestRejected:  # e.g. paid meanwhile: the next run settles it
            return f"PaymentIntent {pi.get('id')} could not be canceled; checked again next run."
        status = pi.get("status")
    if status == "succeeded":
        return settlement.payment_intent_succeeded_apply(payment_intent=pi)
    if status == "canceled":
        return settlement.payment_intent_failed_apply(payment_intent=pi, canceled=True)
    return f"PaymentIntent {pi.get('id')} is {status}; deposit stays pending."


def _withdrawal(txn: LedgerTransaction, *, dry_run: bool, report: ReconciliationReport) -> str:
    if txn.reference:
        try:
            payout = stripe_client.retrieve_payout(txn.reference)
        except StripeRequestRejected as exc:
            return _unknown(txn, txn.reference, exc, dry_run=dry_run)
        po = payout.to_dict()
        if dry_run:
            return f"Payout {po.get('id')} is {po.get('status')}; would settle accordingly."
        return settlement.payout_apply(payout=po)
    if dry_run:
        return "Would request the payout again (same idempotency key)."
    report.payouts_requested += 1
    result = payout_request(txn=txn, provider=StripeProvider())
    if result.status == ProviderStatus.FAILED:
        return f"Payout refused; withdrawal voided ({result.failure_reason})."
    if result.status == ProviderStatus.SUCCEEDED:
        return f"Payout {result.reference} paid; withdrawal posted."
    return f"Payout {result.reference} requested."
