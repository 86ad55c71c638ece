"""Stripe objects -> ledger: the ONE place that decides what a PaymentIntent, Payout, refund or
dispute means for the books. Webhook handlers (:mod:`payments.stripe_handlers`) and the
reconciliation job (:mod:`payments.reconciliation`) both call these functions, so an object is
settled the same way whichever sees it first, and seeing it twice changes nothing.

Each function takes the Stripe object as a plain dict (an event's ``data.object``, or a fetched
object's ``to_dict()``), runs OUTSIDE any transaction and calls the ledger's durable services
(each its own short atomic block with its own row locks). It returns a note for the event row.
Anything that does not match the ledger (amount, currency, status, unknown object, an object
claiming another transaction) is never booked: it becomes a :class:`ReconciliationIssue`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledger.exceptions import AlreadyReversed
from ledger.models import LedgerTransaction, TransactionStatus, TransactionType
from ledger.selectors import ledger_transaction_get
from ledger.services.clawbacks import deposit_clawback
from ledger.services.deposits import deposit_fail, deposit_settle
from ledger.services.pending import transaction_reference_set
from ledger.services.reversals import transaction_reverse
from ledger.services.withdrawals import withdrawal_post, withdrawal_void
from payments import stripe_client
from payments.exceptions import PaymentError
from payments.models import ReconciliationIssueKind
from payments.services import reconciliation_issue_record
from wallets.money import format_amount

logger = logging.getLogger("payments.settlement")

StripeObject = Mapping[str, Any]


# --- Lookups and checks ----------------------------------------------------------------------
def _metadata_transaction_id(obj: StripeObject) -> uuid.UUID | None:
    metadata = obj.get("metadata")
    raw = metadata.get("ledger_transaction_id") if isinstance(metadata, Mapping) else None
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _transaction_for(obj: StripeObject, *, reference: str) -> LedgerTransaction | None:
    """The ledger transaction a Stripe object belongs to: by the public id we put in its
    metadata (works even before the create call returned), else by its recorded reference."""
    public_id = _metadata_transaction_id(obj)
    if public_id is not None:
        return ledger_transaction_get(public_id=public_id)
    return ledger_transaction_get(reference=reference) if reference else None


def _money(minor: object, currency: str) -> Decimal | None:
    if not isinstance(minor, int) or isinstance(minor, bool):
        return None
    return stripe_client.from_stripe_amount(minor, currency)


def _mismatch(
    txn: LedgerTransaction | None,
    obj: StripeObject,
    *,
    expected_type: TransactionType,
    amount_field: str,
    event_id: str,
) -> str | None:
    """Record an issue and return its note when ``obj`` does not match ``txn``; else None."""
    object_id = str(obj.get("id") or "")
    kind_label = expected_type.label.lower()
    if txn is None:
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.UNKNOWN_OBJECT,
            detail=f"Stripe {obj.get('object')} {object_id} matches no {kind_label} of the ledger.",
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            actual={"metadata": dict(obj.get("metadata") or {}), "status": obj.get("status")},
        )
        return f"Not booked: unknown {obj.get('object')} (reconciliation issue {issue.pk})."
    if txn.type != expected_type or (txn.reference and txn.reference != object_id):
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.TRANSACTION_MISMATCH,
            detail=(
                f"Stripe {obj.get('object')} {object_id} names ledger transaction {txn.public_id}, "
                f"which is a {txn.type} referencing {txn.reference or 'nothing'}."
            ),
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            ledger_transaction=txn,
            expected={"type": expected_type.value, "reference": txn.reference},
            actual={"type": txn.type},
        )
        return f"Not booked: transaction mismatch (reconciliation issue {issue.pk})."
    currency = str(obj.get("currency") or "").upper()
    if currency != txn.currency:
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.CURRENCY_MISMATCH,
            detail=(
                f"Stripe {obj.get('object')} {object_id} is in {currency or '?'}; the ledger expects {txn.currency}."
            ),
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            ledger_transaction=txn,
            expected={"currency": txn.currency},
            actual={"currency": currency},
        )
        return f"Not booked: currency mismatch (reconciliation issue {issue.pk})."
    amount = _money(obj.get(amount_field), txn.currency)
    if amount != txn.amount:
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.AMOUNT_MISMATCH,
            detail=(
                f"Stripe {obj.get('object')} {object_id} has {amount_field}={obj.get(amount_field)!r} "
                f"(minor units); the ledger expects {format_amount(txn.amount, txn.currency)} {txn.currency}."
            ),
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            ledger_transaction=txn,
            expected={"amount": format_amount(txn.amount, txn.currency)},
            actual={amount_field: obj.get(amount_field)},
        )
        return f"Not booked: amount mismatch (reconciliation issue {issue.pk})."
    return None


def _status_issue(txn: LedgerTransaction, obj: StripeObject, *, event_id: str, detail: str) -> str:
    object_id = str(obj.get("id") or "")
    issue = reconciliation_issue_record(
        kind=ReconciliationIssueKind.STATUS_MISMATCH,
        detail=detail,
        stripe_object_id=object_id,
        stripe_event_id=event_id,
        ledger_transaction=txn,
        expected={"status": txn.status},
        actual={"status": obj.get("status")},
    )
    return f"Not booked: status mismatch (reconciliation issue {issue.pk})."


# --- Deposits (PaymentIntents) ---------------------------------------------------------------
def payment_intent_succeeded_apply(*, payment_intent: StripeObject, event_id: str = "") -> str:
    """Credit the deposit of a succeeded PaymentIntent, only if amount received, currency and
    transaction all match. Already posted: nothing to do."""
    pi_id = str(payment_intent.get("id") or "")
    txn = _transaction_for(payment_intent, reference=pi_id)
    problem = _mismatch(
        txn, payment_intent, expected_type=TransactionType.DEPOSIT, amount_field="amount_received", event_id=event_id
    )
    if problem is not None or txn is None:
        return problem or ""
    if txn.status == TransactionStatus.POSTED:
        return f"Deposit {txn.public_id} already posted."
    if txn.status != TransactionStatus.PENDING:
        return _status_issue(
            txn,
            payment_intent,
            event_id=event_id,
            detail=(
                f"PaymentIntent {pi_id} succeeded (money collected) but deposit {txn.public_id} is {txn.status}: "
                "refund the payment or credit the user."
            ),
        )
    deposit_settle(transaction_id=txn.pk, reference=pi_id)
    logger.info("deposit %s posted from payment intent %s", txn.public_id, pi_id)
    return f"Deposit {txn.public_id} posted."


def payment_intent_failed_apply(*, payment_intent: StripeObject, event_id: str = "", canceled: bool = False) -> str:
    """Mark the deposit of a failed or canceled PaymentIntent ``failed``. After a failed attempt
    the PaymentIntent is also canceled at Stripe, so it can no longer collect money the ledger
    would not credit (the user starts a new deposit)."""
    pi_id = str(payment_intent.get("id") or "")
    txn = _transaction_for(payment_intent, reference=pi_id)
    if txn is None or txn.type != TransactionType.DEPOSIT or (txn.reference and txn.reference != pi_id):
        return (
            _mismatch(
                txn, payment_intent, expected_type=TransactionType.DEPOSIT, amount_field="amount", event_id=event_id
            )
            or ""
        )
    if txn.status == TransactionStatus.POSTED:
        # e.g. a failed first attempt delivered after the successful second one
        return f"Ignored: deposit {txn.public_id} is already posted."
    if txn.status == TransactionStatus.PENDING:
        error = payment_intent.get("last_payment_error")
        code = error.get("code") if isinstance(error, Mapping) else None
        reason = "canceled" if canceled else f"payment_failed:{code or 'unknown'}"
        deposit_fail(transaction_id=txn.pk, reason=reason, reference=pi_id)
    if not canceled and payment_intent.get("status") != "canceled":
        try:
            stripe_client.cancel_payment_intent(
                pi_id, idempotency_key=stripe_client.idempotency_key_for("deposit-cancel", txn.public_id)
            )
        except PaymentError as exc:  # best effort; a later succeeded event becomes an issue
            logger.warning("payment intent %s of failed deposit %s not canceled: %s", pi_id, txn.public_id, exc.code)
    return f"Deposit {txn.public_id} failed."


# --- Withdrawals (Payouts) -------------------------------------------------------------------
def payout_apply(*, payout: StripeObject, event_id: str = "") -> str:
    """Settle the withdrawal of a payout by its status: ``paid`` posts it; ``failed``/``canceled``
    voids it (hold released) or, when it was already posted, books a reversal (Stripe may report
    a failure after ``paid``). Other statuses only record the reference."""
    po_id = str(payout.get("id") or "")
    txn = _transaction_for(payout, reference=po_id)
    if txn is None and payout.get("automatic") is True:
        # Stripe's scheduled payouts of the platform's own balance are not withdrawals.
        return f"Ignored: automatic payout {po_id} of the platform's balance."
    problem = _mismatch(txn, payout, expected_type=TransactionType.WITHDRAWAL, amount_field="amount", event_id=event_id)
    if problem is not None or txn is None:
        return problem or ""
    status = payout.get("status")
    if status == "paid":
        if txn.status == TransactionStatus.POSTED:
            return f"Withdrawal {txn.public_id} already posted."
        if txn.status != TransactionStatus.PENDING:
            return _status_issue(
                txn,
                payout,
                event_id=event_id,
                detail=f"Payout {po_id} was paid but withdrawal {txn.public_id} is {txn.status} (hold released).",
            )
        withdrawal_post(transaction_id=txn.pk, reference=po_id)
        return f"Withdrawal {txn.public_id} posted."
    if status in ("failed", "canceled"):
        reason = str(payout.get("failure_code") or status)
        if txn.status == TransactionStatus.PENDING:
            withdrawal_void(transaction_id=txn.pk, reason=f"payout_{status}:{reason}", reference=po_id)
            return f"Withdrawal {txn.public_id} voided ({reason})."
        if txn.status == TransactionStatus.POSTED:
            try:
                reversal = transaction_reverse(
                    acting_user=None, transaction_id=txn.pk, reason=f"Payout {po_id} {status} after paid ({reason})"
                )
            except AlreadyReversed:
                return f"Withdrawal {txn.public_id} already reversed."
            return f"Withdrawal {txn.public_id} reversed by {reversal.public_id} (payout {status} after paid)."
        return f"Withdrawal {txn.public_id} already {txn.status}."
    if txn.status == TransactionStatus.PENDING and not txn.reference:
        transaction_reference_set(transaction_id=txn.pk, reference=po_id, provider="stripe")
    return f"Payout {po_id} is {status}; withdrawal {txn.public_id} stays {txn.status}."


# --- Refunds and disputes --------------------------------------------------------------------
def deposit_clawback_apply(
    *,
    payment_intent_id: str,
    amount_minor: object,
    currency: str,
    source: StripeObject,
    reason: str,
    event_id: str = "",
) -> str:
    """Book money Stripe took back from a credited deposit (a refund or a dispute) as a reversal;
    a shortfall (the user spent the money) goes to the receivable account, the wallet is frozen
    and an open ``receivable`` issue tells staff why."""
    object_id = str(source.get("id") or "")
    txn = _transaction_for(source, reference=payment_intent_id) if payment_intent_id else None
    if txn is None and payment_intent_id:
        txn = ledger_transaction_get(reference=payment_intent_id)
    if txn is None or txn.type != TransactionType.DEPOSIT:
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.UNKNOWN_OBJECT,
            detail=f"Stripe {source.get('object')} {object_id} ({reason}) matches no deposit of the ledger.",
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            actual={"payment_intent": payment_intent_id, "amount": amount_minor, "currency": currency},
        )
        return f"Not booked: unknown deposit (reconciliation issue {issue.pk})."
    amount = _money(amount_minor, txn.currency) if currency.upper() == txn.currency else None
    if txn.status != TransactionStatus.POSTED or amount is None or not (0 < amount <= txn.amount):
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.UNBOOKED_REFUND,
            detail=(
                f"Stripe {source.get('object')} {object_id} ({reason}) of {amount_minor!r} {currency.upper()} "
                f"(minor units) cannot be booked against deposit {txn.public_id} ({txn.status}, "
                f"{format_amount(txn.amount, txn.currency)} {txn.currency})."
            ),
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            ledger_transaction=txn,
            expected={
                "status": "posted",
                "currency": txn.currency,
                "max_amount": format_amount(txn.amount, txn.currency),
            },
            actual={"amount": amount_minor, "currency": currency},
        )
        return f"Not booked (reconciliation issue {issue.pk})."

    def record_receivable(reversal: LedgerTransaction, advance: LedgerTransaction) -> None:
        reconciliation_issue_record(
            kind=ReconciliationIssueKind.RECEIVABLE,
            detail=(
                f"{reason.capitalize()} {object_id} of deposit {txn.public_id}: the user had already spent "
                f"{format_amount(advance.amount, txn.currency)} {txn.currency} of it. The shortfall is booked "
                f"to the receivable account (transaction {advance.public_id}) and the wallet is frozen until "
                "staff resolve it."
            ),
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            ledger_transaction=reversal,
            wallet=advance.credit_wallet,
            expected={"amount": format_amount(amount, txn.currency)},
            actual={"shortfall": format_amount(advance.amount, txn.currency)},
        )

    try:
        reversal, advance = deposit_clawback(
            transaction_id=txn.pk, amount=amount, reason=f"{reason} {object_id}", on_shortfall=record_receivable
        )
    except AlreadyReversed:
        existing = LedgerTransaction.objects.filter(reverses=txn).first()
        if existing is not None and existing.amount == amount:
            return f"Deposit {txn.public_id} already reversed."
        issue = reconciliation_issue_record(
            kind=ReconciliationIssueKind.UNBOOKED_REFUND,
            detail=(
                f"Stripe {source.get('object')} {object_id} ({reason}) takes back "
                f"{format_amount(amount, txn.currency)} {txn.currency} of deposit "
                f"{txn.public_id}, which was already reversed by {existing.public_id if existing else '?'} "
                f"({format_amount(existing.amount, txn.currency) if existing else '?'} {txn.currency})."
            ),
            stripe_object_id=object_id,
            stripe_event_id=event_id,
            ledger_transaction=txn,
        )
        return f"Not booked: deposit already reversed for another amount (reconciliation issue {issue.pk})."
    if advance is not None:
        return (
            f"Deposit {txn.public_id} reversed by {reversal.public_id}; "
            f"shortfall {format_amount(advance.amount, txn.currency)} {txn.currency} "
            "booked as receivable, wallet frozen."
        )
    return f"Deposit {txn.public_id} reversed by {reversal.public_id}."


def dispute_funds_reinstated_apply(*, dispute: StripeObject, event_id: str = "") -> str:
    """A dispute was won and Stripe gave the money back. The deposit's reversal stays (a reversal
    is never reversed): staff decide whether to credit the user again (an adjustment) and settle
    any receivable, so this records an issue for them."""
    dispute_id = str(dispute.get("id") or "")
    pi_id = str(dispute.get("payment_intent") or "")
    deposit = ledger_transaction_get(reference=pi_id) if pi_id else None
    if deposit is not None and deposit.type != TransactionType.DEPOSIT:
        deposit = None
    reversal = LedgerTransaction.objects.filter(reverses=deposit).first() if deposit is not None else None
    issue = reconciliation_issue_record(
        kind=ReconciliationIssueKind.DISPUTE_REINSTATED,
        detail=(
            f"Dispute {dispute_id} was won: Stripe reinstated {dispute.get('amount')!r} "
            f"{str(dispute.get('currency') or '').upper()} (minor units) of deposit "
            f"{deposit.public_id if deposit else 'unknown'}"
            f"{f', reversed by {reversal.public_id}' if reversal else ''}. Credit the user again "
            "(adjustment) and settle any receivable, then resolve."
        ),
        stripe_object_id=dispute_id,
        stripe_event_id=event_id,
        ledger_transaction=reversal or deposit,
        wallet=deposit.credit_wallet if deposit is not None else None,
        actual={"amount": dispute.get("amount"), "currency": dispute.get("currency"), "status": dispute.get("status")},
    )
    return f"Recorded for staff: dispute won (reconciliation issue {issue.pk})."
