"""Maker-checker through the services: proposals move nothing; only another admin's approval
posts; thresholds need a superuser; every step is audited in the same transaction."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.tests.factories import AdminFactory, StaffFactory, SuperuserFactory, UserFactory
from audit.models import AuditAction, AuditEvent
from ledger import exceptions as errors
from ledger.approvals import (
    adjustment_propose,
    approval_approve,
    approval_approve_refusal,
    approval_reject,
    reversal_propose,
)
from ledger.models import ApprovalKind, ApprovalRequest, ApprovalStatus, Direction, LedgerTransaction, TransactionType
from ledger.services.adjustments import adjustment_create
from ledger.services.reversals import transaction_reverse
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from ledger.verification import ledger_verify
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def _balance(wallet: Wallet) -> Decimal:
    return Wallet.objects.get(pk=wallet.pk).balance


def test_a_proposal_moves_nothing_until_another_admin_approves_it() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    staff, admin = StaffFactory.create(), AdminFactory.create()
    # when
    approval = adjustment_propose(
        acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount="25.50", reason="goodwill"
    )
    # then
    assert approval.status == ApprovalStatus.PENDING
    assert _balance(wallet) == Decimal("10.00")
    assert not LedgerTransaction.objects.filter(type=TransactionType.ADJUSTMENT).exists()
    # when
    approved = approval_approve(acting_user=admin, approval_id=approval.pk, note="checked the ticket")
    # then
    assert approved.status == ApprovalStatus.APPROVED
    assert approved.decided_by == admin
    assert approved.posted is not None and approved.posted.type == TransactionType.ADJUSTMENT
    assert approved.posted.credit_wallet_id == wallet.pk
    assert approved.posted.debit_wallet.system_code == "equity"
    assert _balance(wallet) == Decimal("35.50")
    assert ledger_verify().ok
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_id"))
    assert actions == [(AuditAction.ADJUSTMENT_PROPOSE, staff.pk), (AuditAction.ADJUSTMENT_APPROVE, admin.pk)]


def test_a_debit_adjustment_posts_to_equity_and_cannot_overdraw() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.DEBIT, amount="10.01", reason="fee"
    )
    # when / then: refused by the ledger, the request stays pending, nothing recorded
    with pytest.raises(errors.InsufficientFunds):
        approval_approve(acting_user=AdminFactory.create(), approval_id=approval.pk)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not AuditEvent.objects.filter(action=AuditAction.ADJUSTMENT_APPROVE).exists()
    assert _balance(wallet) == Decimal("10.00")


def test_the_proposer_can_never_decide_their_own_request() -> None:
    # given an admin proposing (admins may propose too)
    wallet = funded_wallet(amount="10.00")
    admin = SuperuserFactory.create()
    approval = adjustment_propose(acting_user=admin, wallet=wallet, direction=Direction.CREDIT, amount="1", reason="x")
    # when / then
    with pytest.raises(errors.ApprovalForbidden):
        approval_approve(acting_user=admin, approval_id=approval.pk)
    with pytest.raises(errors.ApprovalForbidden):
        approval_reject(acting_user=admin, approval_id=approval.pk, note="no")
    assert ApprovalRequest.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING


def test_only_admins_decide_and_only_staff_propose() -> None:
    wallet = funded_wallet(amount="10.00")
    with pytest.raises(errors.LedgerPermissionDenied):
        adjustment_propose(
            acting_user=UserFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="1", reason="x"
        )
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="1", reason="x"
    )
    with pytest.raises(errors.ApprovalForbidden):
        approval_approve(acting_user=StaffFactory.create(), approval_id=approval.pk)


def test_above_the_threshold_only_a_superuser_approves(settings: Settings) -> None:
    # given
    settings.ADJUSTMENT_SUPERUSER_THRESHOLD = "100"
    settings.ADJUSTMENT_SUPERUSER_THRESHOLDS = {"JPY": "10000"}
    wallet = funded_wallet(amount="10.00")
    staff = StaffFactory.create()
    at_limit = adjustment_propose(
        acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount="100", reason="a"
    )
    above = adjustment_propose(
        acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount="100.01", reason="b"
    )
    admin, superuser = AdminFactory.create(), SuperuserFactory.create()
    # when / then
    approval_approve(acting_user=admin, approval_id=at_limit.pk)
    with pytest.raises(errors.ApprovalForbidden, match="superuser"):
        approval_approve(acting_user=admin, approval_id=above.pk)
    approval_approve(acting_user=superuser, approval_id=above.pk)
    assert _balance(wallet) == Decimal("210.01")
    # the per-currency override applies to JPY
    yen = funded_wallet(currency="JPY", amount="0")
    small = adjustment_propose(acting_user=staff, wallet=yen, direction=Direction.CREDIT, amount="5000", reason="c")
    approval_approve(acting_user=admin, approval_id=small.pk)


def test_a_request_is_decided_once_and_rejection_needs_a_note() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="3", reason="x"
    )
    admin = AdminFactory.create()
    # when / then
    with pytest.raises(errors.ReasonRequired):
        approval_reject(acting_user=admin, approval_id=approval.pk, note="  ")
    rejected = approval_reject(acting_user=admin, approval_id=approval.pk, note="duplicate ticket")
    assert (rejected.status, rejected.decision_note, rejected.posted) == (
        ApprovalStatus.REJECTED,
        "duplicate ticket",
        None,
    )
    with pytest.raises(errors.ApprovalNotPending):
        approval_approve(acting_user=AdminFactory.create(), approval_id=approval.pk)
    assert _balance(wallet) == Decimal("10.00")
    assert AuditEvent.objects.filter(action=AuditAction.ADJUSTMENT_REJECT, reason="duplicate ticket").count() == 1


def test_proposals_validate_amount_reason_and_wallet() -> None:
    wallet = funded_wallet(amount="10.00")
    staff = StaffFactory.create()
    for amount in ("0", "-1", "1.001", "abc", "1e3"):
        with pytest.raises(errors.InvalidAmount):
            adjustment_propose(acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount=amount, reason="x")
    with pytest.raises(errors.ReasonRequired):
        adjustment_propose(acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount="1", reason=" ")
    equity = Wallet.objects.get(system_code="provider_clearing", currency="USD")
    with pytest.raises(Exception, match="user wallets"):
        adjustment_propose(acting_user=staff, wallet=equity, direction=Direction.CREDIT, amount="1", reason="x")
    assert ApprovalRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def _transfer() -> LedgerTransaction:
    sender = funded_wallet(amount="10.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    return transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("4"))


def test_reversal_requests_follow_the_same_rules() -> None:
    # given
    txn = _transfer()
    staff, admin = StaffFactory.create(), AdminFactory.create()
    # when
    approval = reversal_propose(acting_user=staff, original=txn, reason="customer dispute")
    # then: nothing reversed yet; a second request is refused while one is pending
    assert not LedgerTransaction.objects.filter(reverses=txn).exists()
    with pytest.raises(errors.ReversalAlreadyRequested):
        reversal_propose(acting_user=StaffFactory.create(), original=txn, reason="again")
    with pytest.raises(errors.ApprovalForbidden):
        approval_approve(acting_user=staff, approval_id=approval.pk)
    # when approved by someone else
    approved = approval_approve(acting_user=admin, approval_id=approval.pk)
    # then
    assert approved.posted is not None and approved.posted.reverses_id == txn.pk
    assert _balance(txn.debit_wallet) == Decimal("10.00")
    with pytest.raises(errors.AlreadyReversed):
        reversal_propose(acting_user=staff, original=txn, reason="third time")
    assert ledger_verify().ok
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        AuditAction.REVERSAL_PROPOSE,
        AuditAction.REVERSAL_APPROVE,
    ]


def test_a_rejected_reversal_can_be_requested_again() -> None:
    txn = _transfer()
    first = reversal_propose(acting_user=StaffFactory.create(), original=txn, reason="maybe")
    approval_reject(acting_user=AdminFactory.create(), approval_id=first.pk, note="no evidence")
    second = reversal_propose(acting_user=StaffFactory.create(), original=txn, reason="now with evidence")
    assert second.status == ApprovalStatus.PENDING


# --- no self-dealing ------------------------------------------------------------------------
def _nothing_posted_or_requested(wallet: Wallet, balance: str) -> None:
    assert _balance(wallet) == Decimal(balance)
    assert not LedgerTransaction.objects.filter(
        type__in=[TransactionType.ADJUSTMENT, TransactionType.REVERSAL]
    ).exists()


def test_staff_cannot_propose_a_credit_to_their_own_wallet() -> None:
    # given
    staff = StaffFactory.create()
    own = funded_wallet(user=staff, amount="10.00")
    # when / then
    with pytest.raises(errors.SelfDealing, match="your own wallet"):
        adjustment_propose(acting_user=staff, wallet=own, direction=Direction.CREDIT, amount="100", reason="bonus")
    assert not ApprovalRequest.objects.exists()
    assert not AuditEvent.objects.exists()
    _nothing_posted_or_requested(own, "10.00")
    # a debit of their own wallet gives them nothing: still allowed
    assert adjustment_propose(acting_user=staff, wallet=own, direction=Direction.DEBIT, amount="1", reason="fee")


def test_an_admin_cannot_approve_a_credit_to_their_own_wallet() -> None:
    # given staff propose a credit to an admin's wallet
    admin, other_admin = AdminFactory.create(), AdminFactory.create()
    wallet = funded_wallet(user=admin, amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="100", reason="bonus"
    )
    # when / then the owner cannot approve it
    with pytest.raises(errors.SelfDealing, match="your own wallet"):
        approval_approve(acting_user=admin, approval_id=approval.pk)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not AuditEvent.objects.filter(action=AuditAction.ADJUSTMENT_APPROVE).exists()
    _nothing_posted_or_requested(wallet, "10.00")
    # another admin can
    approval_approve(acting_user=other_admin, approval_id=approval.pk)
    assert _balance(wallet) == Decimal("110.00")


def test_a_pending_credit_proposed_by_the_wallets_owner_is_never_approved() -> None:
    # given a request written before the rule (bypassing the service)
    staff = StaffFactory.create()
    wallet = funded_wallet(user=staff, amount="10.00")
    approval = ApprovalRequest.objects.create(
        kind=ApprovalKind.ADJUSTMENT,
        wallet=wallet,
        direction=Direction.CREDIT,
        currency="USD",
        amount=Decimal("100"),
        reason="bonus",
        proposed_by=staff,
        proposed_at=timezone.now(),
    )
    # when / then no admin approves it; rejecting it is fine
    with pytest.raises(errors.SelfDealing, match="proposed it"):
        approval_approve(acting_user=AdminFactory.create(), approval_id=approval.pk)
    _nothing_posted_or_requested(wallet, "10.00")
    approval_reject(acting_user=AdminFactory.create(), approval_id=approval.pk, note="self-dealing")


def test_reversals_that_would_credit_the_proposer_or_the_approver_are_refused() -> None:
    # given staff and an admin who each paid someone (a reversal credits the payer back)
    staff, admin = StaffFactory.create(), AdminFactory.create()
    staff_wallet, admin_wallet = funded_wallet(user=staff, amount="10.00"), funded_wallet(user=admin, amount="10.00")
    friend = funded_wallet(amount="0")
    assert friend.user is not None
    by_staff = transfer_create(sender=staff, recipient=friend.user.username, currency="USD", amount=Decimal("4"))
    by_admin = transfer_create(sender=admin, recipient=friend.user.username, currency="USD", amount=Decimal("4"))
    # when / then staff cannot propose reversing their own payment
    with pytest.raises(errors.SelfDealing, match="your own wallet"):
        reversal_propose(acting_user=staff, original=by_staff, reason="oops")
    # nor can the admin approve the reversal of theirs
    approval = reversal_propose(acting_user=staff, original=by_admin, reason="dispute")
    with pytest.raises(errors.SelfDealing, match="your own wallet"):
        approval_approve(acting_user=admin, approval_id=approval.pk)
    assert ApprovalRequest.objects.get().status == ApprovalStatus.PENDING
    _nothing_posted_or_requested(staff_wallet, "6.00")
    _nothing_posted_or_requested(admin_wallet, "6.00")
    # a reversal that takes money from the acting user's wallet is not self-dealing
    back = transfer_create(sender=friend.user, recipient=staff.username, currency="USD", amount=Decimal("1"))
    assert reversal_propose(acting_user=staff, original=back, reason="sent by mistake")


def test_direct_staff_postings_cannot_credit_their_own_wallet() -> None:
    # given
    staff = StaffFactory.create()
    own = funded_wallet(user=staff, amount="10.00")
    friend = funded_wallet(amount="0")
    assert friend.user is not None
    paid = transfer_create(sender=staff, recipient=friend.user.username, currency="USD", amount=Decimal("4"))
    # when / then
    with pytest.raises(errors.SelfDealing):
        adjustment_create(acting_user=staff, wallet=own, amount=Decimal("100"), reason="bonus")
    with pytest.raises(errors.SelfDealing):
        transaction_reverse(acting_user=staff, transaction_id=paid.pk, reason="oops")
    _nothing_posted_or_requested(own, "6.00")
    # a debit of their own wallet is allowed
    adjustment_create(acting_user=staff, wallet=own, amount=Decimal("-1"), reason="fee")
    assert _balance(own) == Decimal("5.00")
    assert ledger_verify().ok


def test_the_database_enforces_four_eyes_and_immutability_bypassing_python() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    staff = StaffFactory.create()
    approval = adjustment_propose(acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount="1", reason="x")
    # when / then: a decision by the proposer is refused by the CHECK constraint
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            status=ApprovalStatus.REJECTED, decided_by=staff, decided_at=approval.proposed_at
        )
    # changing the proposal itself is refused by the trigger
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=approval.pk).update(amount=Decimal("1000"))
    # deleting is refused, in raw SQL too
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_approvalrequest WHERE id = %s", [approval.pk])
    # a decided request never changes again
    approval_reject(acting_user=AdminFactory.create(), approval_id=approval.pk, note="no")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=approval.pk).update(decision_note="edited")


@pytest.mark.django_db(transaction=True)
def test_two_admins_approving_at_once_post_once() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="5", reason="race"
    )
    admins = [AdminFactory.create() for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(admins))

    def approve(admin_user: object) -> None:
        barrier.wait()
        try:
            approval_approve(acting_user=admin_user, approval_id=approval.pk)  # type: ignore[arg-type]
            outcomes.append("approved")
        except errors.ApprovalNotPending:
            outcomes.append("not_pending")
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=approve, args=(a,)) for a in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(outcomes) == ["approved"] + ["not_pending"] * 3
    assert _balance(wallet) == Decimal("15.00")
    assert LedgerTransaction.objects.filter(type=TransactionType.ADJUSTMENT).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ADJUSTMENT_APPROVE).count() == 1
    assert ledger_verify().ok


def test_approve_refusal_names_self_dealing_before_anyone_tries() -> None:
    # given a credit proposed by staff to an admin's wallet
    admin, other_admin = AdminFactory.create(), AdminFactory.create()
    wallet = funded_wallet(user=admin, amount="1.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="5", reason="bonus"
    )
    # when / then: the credited admin would be self-dealing, another admin not
    assert approval_approve_refusal(acting_user=admin, approval=approval) == (
        "You cannot approve a request that credits your own wallet."
    )
    assert approval_approve_refusal(acting_user=other_admin, approval=approval) is None
