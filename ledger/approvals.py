"""Maker-checker (four-eyes) for back-office money operations: adjustments and reversals.

A staff member *proposes* (``adjustment_propose`` / ``reversal_propose``): nothing moves, an
:class:`ApprovalRequest` waits. Another user of role admin or above *decides*
(``approval_approve`` / ``approval_reject``). Only approval posts, through the ledger's write
helpers, in the same database transaction that records the decision and its audit event.

Rules (checked here, the four-eyes part also by a CHECK constraint in PostgreSQL):
- proposer: staff or above; a written reason; a valid amount for the wallet's currency;
- checker: admin or above and never the proposer; above ``ADJUSTMENT_SUPERUSER_THRESHOLD``
  (per currency: ``ADJUSTMENT_SUPERUSER_THRESHOLDS``) a superuser;
- no self-dealing: neither the proposer nor the checker owns the wallet the request credits
  (a credit adjustment's wallet; a reversal's: the original's debited wallet);
- a request is decided once; one pending reversal per transaction.

Lock order: the approval row first (``SELECT ... FOR UPDATE``), then the wallets through
``wallets.lock_objects`` (ascending pk), then ledger transactions. Nothing else locks approval
rows, so this cannot deadlock with the money services.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record
from ledger.exceptions import (
    AlreadyReversed,
    ApprovalForbidden,
    ApprovalNotPending,
    InvalidTransactionState,
    LedgerPermissionDenied,
    ReasonRequired,
    ReversalAlreadyRequested,
    SelfDealing,
)
from ledger.lock_objects import approval_lock
from ledger.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    Direction,
    LedgerTransaction,
    TransactionStatus,
    TransactionType,
)
from ledger.services.adjustments import adjustment_write
from ledger.services.common import amount_validate, require_not_wallet_owner
from ledger.services.posting import retry_on_contention
from ledger.services.reversals import reversal_write
from wallets.exceptions import WalletNotFound
from wallets.models import SystemAccount, Wallet, WalletKind
from wallets.money import format_amount
from wallets.services import system_wallet_get


def superuser_threshold(currency: str) -> Decimal:
    """Amounts strictly above this (major units of ``currency``) need a superuser's approval."""
    per_currency: dict[str, str] = settings.ADJUSTMENT_SUPERUSER_THRESHOLDS
    return Decimal(str(per_currency.get(currency, settings.ADJUSTMENT_SUPERUSER_THRESHOLD)))


def _reason_clean(reason: str) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ReasonRequired()
    return cleaned


def _require_proposer(user: User) -> None:
    if not (user.is_active and user.has_role_at_least(Role.STAFF)):
        raise LedgerPermissionDenied()


def approval_can_decide(*, acting_user: User, approval: ApprovalRequest) -> bool:
    """The checker rule: admin or above, never the proposer, superuser above the threshold."""
    if not acting_user.is_active or not acting_user.has_role_at_least(Role.ADMIN):
        return False
    if acting_user.pk == approval.proposed_by_id:
        return False
    if approval.amount > superuser_threshold(approval.currency):
        return acting_user.has_role_at_least(Role.SUPERUSER)
    return True


def _credited_wallet(approval: ApprovalRequest) -> Wallet | None:
    """The user-side wallet that approving ``approval`` credits, if any."""
    if approval.kind == ApprovalKind.ADJUSTMENT:
        return approval.wallet if approval.direction == Direction.CREDIT else None
    assert approval.original is not None
    return approval.original.debit_wallet


def _require_no_self_dealing(*, acting_user: User, approval: ApprovalRequest) -> None:
    """Neither the proposer (requests from before this rule) nor the checker owns the credited wallet."""
    wallet = _credited_wallet(approval)
    if wallet is None:
        return
    if wallet.user_id is not None and wallet.user_id == approval.proposed_by_id:
        raise SelfDealing("This request credits a wallet of the staff member who proposed it; reject it.")
    require_not_wallet_owner(
        user=acting_user, wallet=wallet, detail="You cannot approve a request that credits your own wallet."
    )


def approval_approve_refusal(*, acting_user: User, approval: ApprovalRequest) -> str | None:
    """Why approving ``approval`` would be self-dealing for ``acting_user`` (what
    :func:`approval_approve` refuses with ``self_dealing``), or None. Rejecting stays allowed."""
    try:
        _require_no_self_dealing(acting_user=acting_user, approval=approval)
    except SelfDealing as exc:
        return str(exc.detail)
    return None


def _approval_snapshot(approval: ApprovalRequest) -> dict[str, object]:
    return {
        "kind": approval.kind,
        "status": approval.status,
        "direction": approval.direction,
        "amount": format_amount(approval.amount, approval.currency),
        "currency": approval.currency,
        "wallet": approval.wallet_id,
        "original": approval.original_id,
    }


# --- Proposals (maker) -----------------------------------------------------------------------
@transaction.atomic(durable=True)
def adjustment_propose(
    *, acting_user: User, wallet: Wallet, direction: Direction, amount: object, reason: str
) -> ApprovalRequest:
    """Propose crediting (``Direction.CREDIT``) or debiting a user wallet by ``amount`` against
    the adjustments/equity account. Moves nothing until approved."""
    _require_proposer(acting_user)
    if wallet.kind != WalletKind.USER:
        raise WalletNotFound("Adjustments apply to user wallets only.")
    if direction not in Direction.values:
        raise InvalidTransactionState("Direction must be credit or debit.")
    if direction == Direction.CREDIT:
        require_not_wallet_owner(
            user=acting_user, wallet=wallet, detail="You cannot propose a credit to your own wallet."
        )
    exact = amount_validate(amount=amount, currency=wallet.currency)
    approval = ApprovalRequest.objects.create(
        kind=ApprovalKind.ADJUSTMENT,
        wallet=wallet,
        direction=direction,
        currency=wallet.currency,
        amount=exact,
        reason=_reason_clean(reason),
        proposed_by=acting_user,
        proposed_at=timezone.now(),
    )
    audit_record(
        actor=acting_user,
        action=AuditAction.ADJUSTMENT_PROPOSE,
        target=approval,
        after=_approval_snapshot(approval),
        reason=approval.reason,
    )
    return approval


def reversal_propose(*, acting_user: User, original: LedgerTransaction, reason: str) -> ApprovalRequest:
    """Request the reversal of a posted transaction. Moves nothing until approved."""
    _require_proposer(acting_user)
    cleaned = _reason_clean(reason)
    try:
        with transaction.atomic(durable=True):
            original = LedgerTransaction.objects.select_related("debit_wallet").get(pk=original.pk)
            if original.status != TransactionStatus.POSTED or original.type == TransactionType.REVERSAL:
                raise InvalidTransactionState("Only a posted, non-reversal transaction can be reversed.")
            require_not_wallet_owner(
                user=acting_user,
                wallet=original.debit_wallet,
                detail="You cannot propose a reversal that credits your own wallet.",
            )
            if LedgerTransaction.objects.filter(reverses=original).exists():
                raise AlreadyReversed()
            with transaction.atomic():
                approval = ApprovalRequest.objects.create(
                    kind=ApprovalKind.REVERSAL,
                    original=original,
                    currency=original.currency,
                    amount=original.amount,
                    reason=cleaned,
                    proposed_by=acting_user,
                    proposed_at=timezone.now(),
                )
            audit_record(
                actor=acting_user,
                action=AuditAction.REVERSAL_PROPOSE,
                target=approval,
                after=_approval_snapshot(approval),
                reason=cleaned,
            )
    except IntegrityError as exc:  # the partial unique index: one pending reversal per transaction
        raise ReversalAlreadyRequested() from exc
    return approval


# --- Decisions (checker) ---------------------------------------------------------------------
def _lock_pending(*, acting_user: User, approval_id: int) -> ApprovalRequest:
    approval = approval_lock(pk=approval_id)
    if approval.status != ApprovalStatus.PENDING:
        raise ApprovalNotPending()
    if not approval_can_decide(acting_user=acting_user, approval=approval):
        if acting_user.pk == approval.proposed_by_id:
            raise ApprovalForbidden("You cannot decide a request you proposed.")
        if acting_user.has_role_at_least(Role.ADMIN):
            raise ApprovalForbidden("Amounts above the threshold need a superuser's approval.")
        raise ApprovalForbidden("Only an admin or a superuser may decide this request.")
    return approval


@retry_on_contention
def approval_approve(*, acting_user: User, approval_id: int, note: str = "") -> ApprovalRequest:
    """Approve a pending request and post it through the ledger, in one transaction with the
    decision and its audit event. A refusal by the ledger (e.g. insufficient funds) changes
    nothing: the request stays pending."""
    equity: Wallet | None = None
    with transaction.atomic(durable=True):
        approval = _lock_pending(acting_user=acting_user, approval_id=approval_id)
        _require_no_self_dealing(acting_user=acting_user, approval=approval)
        before = _approval_snapshot(approval)
        if approval.kind == ApprovalKind.ADJUSTMENT:
            assert approval.wallet is not None
            equity = system_wallet_get(code=SystemAccount.EQUITY, currency=approval.currency)
            signed = approval.amount if approval.direction == Direction.CREDIT else -approval.amount
            posted = adjustment_write(
                acting_user=acting_user, wallet=approval.wallet, equity=equity, amount=signed, reason=approval.reason
            )
            action = AuditAction.ADJUSTMENT_APPROVE
        else:
            assert approval.original_id is not None
            posted = reversal_write(
                acting_user=acting_user, transaction_id=approval.original_id, reason=approval.reason
            )
            action = AuditAction.REVERSAL_APPROVE
        approval.status = ApprovalStatus.APPROVED
        approval.decided_by = acting_user
        approval.decided_at = timezone.now()
        approval.decision_note = (note or "").strip()
        approval.posted = posted
        approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "posted"])
        audit_record(
            actor=acting_user,
            action=action,
            target=approval,
            before=before,
            after={**_approval_snapshot(approval), "posted": str(posted.public_id)},
            reason=approval.decision_note or approval.reason,
        )
    return approval


@transaction.atomic(durable=True)
def approval_reject(*, acting_user: User, approval_id: int, note: str) -> ApprovalRequest:
    """Reject a pending request with a note; nothing is posted."""
    cleaned = _reason_clean(note)
    approval = _lock_pending(acting_user=acting_user, approval_id=approval_id)
    before = _approval_snapshot(approval)
    approval.status = ApprovalStatus.REJECTED
    approval.decided_by = acting_user
    approval.decided_at = timezone.now()
    approval.decision_note = cleaned
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=acting_user,
        action=AuditAction.ADJUSTMENT_REJECT
        if approval.kind == ApprovalKind.ADJUSTMENT
        else AuditAction.REVERSAL_REJECT,
        target=approval,
        before=before,
        after=_approval_snapshot(approval),
        reason=cleaned,
    )
    return approval
