"""The back-office: view-only ledger pages; reversals and freezes go through services."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import AdminFactory, StaffFactory
from ledger.models import LedgerTransaction, TransactionType
from ledger.services import transfer_create
from ledger.tests.factories import funded_wallet
from ledger.verification import ledger_verify
from wallets.models import Wallet, WalletStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for_admin() -> Client:
    client = Client()
    client.force_login(AdminFactory.create())
    return client


def _transfer() -> LedgerTransaction:
    sender = funded_wallet(amount="20.00")
    recipient = funded_wallet(amount="0")
    assert sender.user and recipient.user
    return transfer_create(sender=sender.user, recipient=recipient.user.username, currency="USD", amount=Decimal("5"))


def test_ledger_pages_render_and_are_view_only(admin_client_for_admin: Client) -> None:
    txn = _transfer()
    for url in (
        "/admin/ledger/ledgertransaction/",
        f"/admin/ledger/ledgertransaction/{txn.pk}/change/",
        "/admin/wallets/wallet/",
        f"/admin/wallets/wallet/{txn.debit_wallet_id}/change/",
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


def test_reverse_action_posts_a_reversal(admin_client_for_admin: Client) -> None:
    txn = _transfer()
    response = admin_client_for_admin.post(
        "/admin/ledger/ledgertransaction/", {"action": "reverse", "_selected_action": [str(txn.pk)]}
    )
    assert response.status_code == 302
    assert LedgerTransaction.objects.filter(type=TransactionType.REVERSAL, reverses=txn).count() == 1
    # a second reversal is refused with a message, not an error page
    again = admin_client_for_admin.post(
        "/admin/ledger/ledgertransaction/", {"action": "reverse", "_selected_action": [str(txn.pk)]}, follow=True
    )
    assert again.status_code == 200
    assert "already been reversed" in again.content.decode()
    assert ledger_verify().ok


def test_freeze_action(admin_client_for_admin: Client) -> None:
    wallet = funded_wallet(amount="1.00")
    admin_client_for_admin.post("/admin/wallets/wallet/", {"action": "freeze", "_selected_action": [str(wallet.pk)]})
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.FROZEN
    admin_client_for_admin.post("/admin/wallets/wallet/", {"action": "unfreeze", "_selected_action": [str(wallet.pk)]})
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE


def test_staff_may_view_the_ledger() -> None:
    client = Client()
    client.force_login(StaffFactory.create())
    assert client.get("/admin/ledger/ledgertransaction/").status_code == 200
