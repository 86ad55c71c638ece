"""The ledger back-office: view-only pages, links, search and filters; reversals and
adjustments only through maker-checker, tested through the admin (Django test client)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from accounts.models import User
from accounts.tests.factories import AdminFactory, StaffFactory, SuperuserFactory
from audit.models import AuditAction, AuditEvent
from ledger.approvals import adjustment_propose, reversal_propose
from ledger.models import ApprovalRequest, ApprovalStatus, Direction, LedgerTransaction, TransactionType
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from ledger.verification import ledger_verify
from payments.tests.factories import ReconciliationIssueFactory
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_for_admin() -> Client:
    return _client(AdminFactory.create())


def _transfer(amount: str = "5") -> LedgerTransaction:
    sender = funded_wallet(amount="20.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    return transfer_create(
        sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal(amount)
    )


def test_ledger_pages_render_and_are_view_only(admin_client_for_admin: Client) -> None:
    txn = _transfer()
    for url in (
        "/admin/ledger/ledgertransaction/",
        f"/admin/ledger/ledgertransaction/{txn.pk}/change/",
        "/admin/ledger/idempotencykey/",
        "/admin/ledger/approvalrequest/",
    ):
        response = admin_client_for_admin.get(url)
        assert response.status_code == 200, url
    # no add, no delete, no edit
    assert admin_client_for_admin.get("/admin/ledger/ledgertransaction/add/").status_code == 403
    assert admin_client_for_admin.get(f"/admin/ledger/ledgertransaction/{txn.pk}/delete/").status_code == 403
    response = admin_client_for_admin.post(f"/admin/ledger/ledgertransaction/{txn.pk}/change/", {"description": "x"})
    assert response.status_code == 403
    txn.refresh_from_db()
    assert txn.description == ""
    # the bulk delete action is not offered either
    changelist = admin_client_for_admin.get("/admin/ledger/ledgertransaction/").content.decode()
    assert "delete_selected" not in changelist
    gone = admin_client_for_admin.post(
        "/admin/ledger/ledgertransaction/",
        {"action": "delete_selected", "_selected_action": [str(txn.pk)], "post": "yes"},
    )
    assert gone.status_code in (200, 302)
    assert LedgerTransaction.objects.filter(pk=txn.pk).exists()


def test_transaction_page_shows_entries_and_links_to_wallet_history_and_counterparty(
    admin_client_for_admin: Client,
) -> None:
    # given
    txn = _transfer()
    # when
    html = admin_client_for_admin.get(f"/admin/ledger/ledgertransaction/{txn.pk}/change/").content.decode()
    # then both entries are inline, and each side links to its wallet and its history
    assert html.count("field-balance_after") >= 2
    assert f"/admin/wallets/wallet/{txn.credit_wallet_id}/change/" in html
    assert f"?wallet={txn.debit_wallet_id}" in html
    # and the history filter lists exactly that wallet's transactions
    history = admin_client_for_admin.get(f"/admin/ledger/ledgertransaction/?wallet={txn.credit_wallet_id}")
    assert str(txn.public_id) in history.content.decode()
    other = funded_wallet(amount="3.00")
    history = admin_client_for_admin.get(f"/admin/ledger/ledgertransaction/?wallet={other.pk}")
    assert str(txn.public_id) not in history.content.decode()


def test_search_by_public_id_reference_and_username(admin_client_for_admin: Client) -> None:
    # given
    txn = _transfer()
    other = _transfer()
    assert txn.credit_wallet.user is not None
    # when / then
    for term in (str(txn.public_id), txn.credit_wallet.user.username):
        html = admin_client_for_admin.get("/admin/ledger/ledgertransaction/", {"q": term}).content.decode()
        assert str(txn.public_id) in html, term
        assert str(other.public_id) not in html, term
    # a malformed id is just no match, never an error page
    assert admin_client_for_admin.get("/admin/ledger/ledgertransaction/", {"q": "not-a-uuid"}).status_code == 200
    filtered = admin_client_for_admin.get(
        "/admin/ledger/ledgertransaction/", {"type__exact": "deposit", "status__exact": "posted", "currency": "USD"}
    )
    assert filtered.status_code == 200


@pytest.mark.parametrize("wallet_id", ["\u00b2", "\u0661", "\uff11"])
def test_non_ascii_digit_wallet_ids_are_no_match_never_an_error(admin_client_for_admin: Client, wallet_id: str) -> None:
    # given superscript two, Arabic-Indic one and fullwidth one all pass str.isdigit(); int() fails on the first
    _transfer()
    # when
    history = admin_client_for_admin.get("/admin/ledger/ledgertransaction/", {"wallet": wallet_id})
    form = admin_client_for_admin.get("/admin/ledger/approvalrequest/add/", {"wallet": wallet_id})
    proposal = admin_client_for_admin.post(
        "/admin/ledger/approvalrequest/add/",
        {"wallet": wallet_id, "direction": "credit", "amount": "1.00", "reason": "x"},
    )
    # then
    assert history.status_code == 200
    assert form.status_code == 200
    assert proposal.status_code == 200 and "No user wallet matches." in proposal.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_reversal_is_requested_by_staff_and_posted_only_on_another_admins_approval() -> None:
    # given
    txn = _transfer()
    staff, admin = StaffFactory.create(), AdminFactory.create()
    staff_client = _client(staff)
    # when staff choose the action, an intermediate page asks for the reason
    page = staff_client.post(
        "/admin/ledger/ledgertransaction/", {"action": "request_reversal", "_selected_action": [str(txn.pk)]}
    )
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert not ApprovalRequest.objects.exists()
    staff_client.post(
        "/admin/ledger/ledgertransaction/",
        {"action": "request_reversal", "_selected_action": [str(txn.pk)], "apply": "1", "reason": "chargeback"},
    )
    approval = ApprovalRequest.objects.get()
    assert not LedgerTransaction.objects.filter(reverses=txn).exists()
    # the proposer cannot approve it (not an admin, and their own)
    refused = staff_client.post(f"/admin/ledger/approvalrequest/{approval.pk}/approve/", {"reason": ""})
    assert refused.status_code == 403
    # when another admin approves
    response = _client(admin).post(f"/admin/ledger/approvalrequest/{approval.pk}/approve/", {"reason": "ok"})
    # then the reversal is posted
    assert response.status_code == 302
    assert LedgerTransaction.objects.filter(type=TransactionType.REVERSAL, reverses=txn).count() == 1
    assert ledger_verify().ok


def test_staff_propose_an_adjustment_in_the_admin_and_an_admin_approves_it() -> None:
    # given
    wallet = funded_wallet(amount="10.00")
    assert wallet.user is not None
    staff, admin = StaffFactory.create(), AdminFactory.create()
    staff_client = _client(staff)
    # the wallet page links to the proposal form, which is pre-filled with the wallet's public id
    assert (
        f"/admin/ledger/approvalrequest/add/?wallet={wallet.public_id}"
        in staff_client.get(f"/admin/wallets/wallet/{wallet.pk}/change/").content.decode()
    )
    form = staff_client.get(f"/admin/ledger/approvalrequest/add/?wallet={wallet.public_id}")
    assert form.status_code == 200 and f'value="{wallet.public_id}"' in form.content.decode()
    # the internal id is no wallet reference
    by_pk = staff_client.post(
        "/admin/ledger/approvalrequest/add/",
        {"wallet": str(wallet.pk), "direction": "credit", "amount": "1.00", "reason": "x"},
    )
    assert by_pk.status_code == 200 and "No user wallet matches." in by_pk.content.decode()
    # bad input is shown on the form and changes nothing
    bad = staff_client.post(
        "/admin/ledger/approvalrequest/add/",
        {"wallet": f"{wallet.user.username} USD", "direction": "credit", "amount": "1.001", "reason": "x"},
    )
    assert bad.status_code == 200 and "decimal places" in bad.content.decode()
    assert not ApprovalRequest.objects.exists()
    # when
    created = staff_client.post(
        "/admin/ledger/approvalrequest/add/",
        {"wallet": f"{wallet.user.username} usd", "direction": "credit", "amount": "7.25", "reason": "goodwill"},
    )
    # then
    assert created.status_code == 302
    approval = ApprovalRequest.objects.get()
    assert (approval.wallet_id, approval.amount, approval.proposed_by_id) == (wallet.pk, Decimal("7.25"), staff.pk)
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("10.00")
    # when the admin approves it from its page
    page = _client(admin).get(f"/admin/ledger/approvalrequest/{approval.pk}/change/").content.decode()
    assert f"/admin/ledger/approvalrequest/{approval.pk}/approve/" in page
    _client(admin).post(f"/admin/ledger/approvalrequest/{approval.pk}/approve/", {"reason": ""})
    # then
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("17.25")
    assert ApprovalRequest.objects.get().status == ApprovalStatus.APPROVED
    assert AuditEvent.objects.filter(action=AuditAction.ADJUSTMENT_APPROVE, actor=admin).count() == 1


def test_admin_enforces_self_approval_and_threshold_rules(settings: Settings) -> None:
    # given
    settings.ADJUSTMENT_SUPERUSER_THRESHOLD = "50"
    wallet = funded_wallet(amount="10.00")
    admin, other_admin, superuser = AdminFactory.create(), AdminFactory.create(), SuperuserFactory.create()
    own = adjustment_propose(acting_user=admin, wallet=wallet, direction=Direction.CREDIT, amount="5", reason="x")
    big = adjustment_propose(acting_user=admin, wallet=wallet, direction=Direction.CREDIT, amount="50.01", reason="y")
    # when the proposer tries to approve their own
    response = _client(admin).post(f"/admin/ledger/approvalrequest/{own.pk}/approve/", {"reason": ""})
    # then it is refused on the page, with the reason and no button
    assert response.status_code == 403
    assert "another admin must decide it" in response.content.decode()
    assert "Approve and post" not in response.content.decode()
    assert ApprovalRequest.objects.get(pk=own.pk).status == ApprovalStatus.PENDING
    # bulk approval by another admin: the small one posts, the big one needs a superuser
    _client(other_admin).post(
        "/admin/ledger/approvalrequest/",
        {"action": "approve_selected", "_selected_action": [str(own.pk), str(big.pk)], "apply": "1", "reason": ""},
    )
    assert ApprovalRequest.objects.get(pk=own.pk).status == ApprovalStatus.APPROVED
    assert ApprovalRequest.objects.get(pk=big.pk).status == ApprovalStatus.PENDING
    _client(superuser).post(f"/admin/ledger/approvalrequest/{big.pk}/approve/", {"reason": ""})
    assert ApprovalRequest.objects.get(pk=big.pk).status == ApprovalStatus.APPROVED
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("65.01")


def test_the_admin_refuses_self_dealing_with_an_error_message() -> None:
    # given staff and an admin, each with a wallet; the admin paid someone
    staff, admin, other_admin = StaffFactory.create(), AdminFactory.create(), AdminFactory.create()
    staff_wallet = funded_wallet(user=staff, amount="10.00")
    admin_wallet = funded_wallet(user=admin, amount="10.00")
    friend = funded_wallet(amount="0")
    assert friend.user is not None
    paid = transfer_create(sender=admin, recipient=friend.user.username, currency="USD", amount=Decimal("4"))
    staff_client, admin_client = _client(staff), _client(admin)
    # when staff propose a credit to their own wallet
    page = staff_client.post(
        "/admin/ledger/approvalrequest/add/",
        {"wallet": f"{staff.username} USD", "direction": "credit", "amount": "100.00", "reason": "bonus"},
    )
    # then the form shows the error and nothing is proposed
    assert page.status_code == 200 and "You cannot propose a credit to your own wallet." in page.content.decode()
    assert not ApprovalRequest.objects.exists()
    # when staff propose a credit to the admin's wallet and the reversal of the admin's payment
    staff_client.post(
        "/admin/ledger/approvalrequest/add/",
        {"wallet": str(admin_wallet.public_id), "direction": "credit", "amount": "100.00", "reason": "bonus"},
    )
    staff_client.post(
        "/admin/ledger/ledgertransaction/",
        {"action": "request_reversal", "_selected_action": [str(paid.pk)], "apply": "1", "reason": "dispute"},
    )
    credit, reversal = ApprovalRequest.objects.order_by("pk")
    # then the admin sees no Approve button for either (Reject stays), and cannot approve either:
    # from its page (the reason, no form), nor in bulk
    listing = admin_client.get("/admin/ledger/approvalrequest/").content.decode()
    for approval in (credit, reversal):
        assert f"/admin/ledger/approvalrequest/{approval.pk}/approve/" not in listing
        assert f"/admin/ledger/approvalrequest/{approval.pk}/reject/" in listing
    page = admin_client.post(f"/admin/ledger/approvalrequest/{credit.pk}/approve/", {"reason": ""})
    assert page.status_code == 403
    assert "You cannot approve a request that credits your own wallet." in page.content.decode()
    assert 'name="reason"' not in page.content.decode()
    bulk = admin_client.post(
        "/admin/ledger/approvalrequest/",
        {"action": "approve_selected", "_selected_action": [str(reversal.pk)], "apply": "1", "reason": ""},
        follow=True,
    )
    assert "You cannot approve a request that credits your own wallet." in bulk.content.decode()
    assert set(ApprovalRequest.objects.values_list("status", flat=True)) == {ApprovalStatus.PENDING}
    assert Wallet.objects.get(pk=admin_wallet.pk).balance == Decimal("6.00")
    assert Wallet.objects.get(pk=staff_wallet.pk).balance == Decimal("10.00")
    # and staff cannot request the reversal of their own payment either
    own_payment = transfer_create(sender=staff, recipient=friend.user.username, currency="USD", amount=Decimal("1"))
    refused = staff_client.post(
        "/admin/ledger/ledgertransaction/",
        {"action": "request_reversal", "_selected_action": [str(own_payment.pk)], "apply": "1", "reason": "oops"},
        follow=True,
    )
    assert "You cannot propose a reversal that credits your own wallet." in refused.content.decode()
    assert ApprovalRequest.objects.count() == 2
    # another admin approves the credit to the admin's wallet
    assert (
        _client(other_admin).post(f"/admin/ledger/approvalrequest/{credit.pk}/approve/", {"reason": ""}).status_code
        == 302
    )
    assert Wallet.objects.get(pk=admin_wallet.pk).balance == Decimal("106.00")


def test_rejection_needs_a_note_in_the_admin() -> None:
    wallet = funded_wallet(amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.DEBIT, amount="5", reason="fee"
    )
    client = _client(AdminFactory.create())
    assert client.post(f"/admin/ledger/approvalrequest/{approval.pk}/reject/", {"reason": ""}).status_code == 200
    assert ApprovalRequest.objects.get().status == ApprovalStatus.PENDING
    assert client.post(f"/admin/ledger/approvalrequest/{approval.pk}/reject/", {"reason": "dup"}).status_code == 302
    assert ApprovalRequest.objects.get().status == ApprovalStatus.REJECTED
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("10.00")


def test_approval_requests_are_neither_edited_nor_deleted(admin_client_for_admin: Client) -> None:
    wallet = funded_wallet(amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="5", reason="x"
    )
    assert admin_client_for_admin.get(f"/admin/ledger/approvalrequest/{approval.pk}/delete/").status_code == 403
    admin_client_for_admin.post(f"/admin/ledger/approvalrequest/{approval.pk}/change/", {"amount": "500"})
    assert ApprovalRequest.objects.get().amount == Decimal("5")


def _list_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


LIST_PAGES = (
    "/admin/ledger/ledgertransaction/",
    "/admin/ledger/approvalrequest/",
    "/admin/ledger/idempotencykey/",
    "/admin/wallets/wallet/",
    "/admin/audit/auditevent/",
    "/admin/accounts/user/",
    "/admin/payments/reconciliationissue/",
)


def _more_rows() -> None:
    txn = _transfer("1")
    staff = StaffFactory.create()
    wallet = funded_wallet(amount="5.00")
    adjustment_propose(acting_user=staff, wallet=wallet, direction=Direction.CREDIT, amount="1", reason="x")
    reversal_propose(acting_user=staff, original=txn, reason="x")
    ReconciliationIssueFactory.create(wallet=wallet, ledger_transaction=txn)


def test_list_pages_do_not_run_a_query_per_row() -> None:
    # given
    client = _client(SuperuserFactory.create())
    _more_rows()
    few = {url: _list_queries(client, url) for url in LIST_PAGES}
    # when the data grows
    for _ in range(12):
        _more_rows()
    # then every list page runs the same number of queries
    assert Wallet.objects.count() >= 40 and AuditEvent.objects.count() >= 26
    many = {url: _list_queries(client, url) for url in LIST_PAGES}
    assert many == few


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_who_may_not_decide_gets_the_reason_and_no_buttons_never_a_500(decision: str, settings: Settings) -> None:
    # given a small request proposed by an admin and a big one that needs a superuser
    settings.ADJUSTMENT_SUPERUSER_THRESHOLD = "50"
    wallet = funded_wallet(amount="10.00")
    proposer, other_admin, staff = AdminFactory.create(), AdminFactory.create(), StaffFactory.create()
    own = adjustment_propose(acting_user=proposer, wallet=wallet, direction=Direction.CREDIT, amount="5", reason="x")
    big = adjustment_propose(acting_user=proposer, wallet=wallet, direction=Direction.CREDIT, amount="51", reason="y")
    cases = [
        (proposer, own, "another admin must decide it"),
        (other_admin, big, "only a superuser may decide it"),
        (staff, own, "Only an admin or a superuser may approve or reject requests."),
    ]
    for user, approval, reason in cases:
        client = _client(user)
        # when they open the decision page (GET) or submit it anyway (POST)
        for response in (
            client.get(f"/admin/ledger/approvalrequest/{approval.pk}/{decision}/"),
            client.post(f"/admin/ledger/approvalrequest/{approval.pk}/{decision}/", {"reason": "sure"}),
        ):
            # then a 403 page says why, with no form and no button
            html = response.content.decode()
            assert response.status_code == 403, (user.role, approval.amount)
            assert reason in html and 'name="reason"' not in html
            assert "Approve and post" not in html and 'value="Reject"' not in html
        # and neither the list nor the request's page offers the buttons
        for page in ("/admin/ledger/approvalrequest/", f"/admin/ledger/approvalrequest/{approval.pk}/change/"):
            assert f"/{approval.pk}/approve/" not in client.get(page).content.decode()
    assert set(ApprovalRequest.objects.values_list("status", flat=True)) == {ApprovalStatus.PENDING}
    # and staff are not offered the bulk decisions either
    staff_list = _client(staff).get("/admin/ledger/approvalrequest/").content.decode()
    assert "approve_selected" not in staff_list and "reject_selected" not in staff_list
    assert "approve_selected" in _client(other_admin).get("/admin/ledger/approvalrequest/").content.decode()
    # when a superuser looks, both requests offer the buttons
    listing = _client(SuperuserFactory.create()).get("/admin/ledger/approvalrequest/").content.decode()
    assert f"/{own.pk}/approve/" in listing and f"/{big.pk}/reject/" in listing
    assert f"/{own.pk}/approve/" in _client(other_admin).get("/admin/ledger/approvalrequest/").content.decode()


def test_a_decided_request_has_no_buttons_and_its_pages_say_so() -> None:
    wallet = funded_wallet(amount="10.00")
    approval = adjustment_propose(
        acting_user=StaffFactory.create(), wallet=wallet, direction=Direction.CREDIT, amount="5", reason="x"
    )
    client = _client(AdminFactory.create())
    assert client.post(f"/admin/ledger/approvalrequest/{approval.pk}/approve/", {"reason": ""}).status_code == 302
    again = client.get(f"/admin/ledger/approvalrequest/{approval.pk}/reject/")
    assert again.status_code == 403 and "already approved" in again.content.decode()
    assert f"/{approval.pk}/reject/" not in client.get("/admin/ledger/approvalrequest/").content.decode()
