"""Wallets in the back-office: read-only balances, filters, freeze/unfreeze with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.factories import StaffFactory, UserFactory
from audit.models import AuditAction, AuditEvent
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet, WalletStatus

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_wallet_pages_show_balances_read_only_with_filters() -> None:
    # given
    wallet = funded_wallet(amount="12.50")
    funded_wallet(currency="EUR", amount="3.00")
    client = _client(StaffFactory.create())
    # when
    listing = client.get("/admin/wallets/wallet/", {"currency": "USD", "status__exact": "active"}).content.decode()
    detail = client.get(f"/admin/wallets/wallet/{wallet.pk}/change/").content.decode()
    # then
    assert "12.50" in listing and "3.00" not in listing
    for label in ("Balance", "Held", "Available", "Owner"):
        assert label in detail
    assert 'name="balance"' not in detail and 'name="held"' not in detail  # nothing editable
    assert client.get("/admin/wallets/wallet/add/").status_code == 403
    assert client.get(f"/admin/wallets/wallet/{wallet.pk}/delete/").status_code == 403
    client.post(f"/admin/wallets/wallet/{wallet.pk}/change/", {"balance": "1000000", "status": "active"})
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("12.50")


def test_freeze_needs_a_reason_and_is_audited() -> None:
    # given
    wallet = funded_wallet(amount="1.00")
    staff = StaffFactory.create()
    client = _client(staff)
    # when the action is chosen, an intermediate page asks for the reason
    page = client.post("/admin/wallets/wallet/", {"action": "freeze", "_selected_action": [str(wallet.pk)]})
    # then nothing changed yet
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE
    # when confirmed without a reason: refused
    page = client.post(
        "/admin/wallets/wallet/", {"action": "freeze", "_selected_action": [str(wallet.pk)], "apply": "1", "reason": ""}
    )
    assert page.status_code == 200 and "This field is required" in page.content.decode()
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE
    # when confirmed with a reason
    client.post(
        "/admin/wallets/wallet/",
        {"action": "freeze", "_selected_action": [str(wallet.pk)], "apply": "1", "reason": "suspected fraud"},
    )
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.FROZEN
    client.post(
        "/admin/wallets/wallet/",
        {"action": "unfreeze", "_selected_action": [str(wallet.pk)], "apply": "1", "reason": "cleared by KYC"},
    )
    # then
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.reason, e.actor_id) for e in events] == [
        (AuditAction.WALLET_FREEZE, "suspected fraud", staff.pk),
        (AuditAction.WALLET_UNFREEZE, "cleared by KYC", staff.pk),
    ]
    assert (events[0].before, events[0].after) == ({"status": "active"}, {"status": "frozen"})
    assert events[0].target_id == str(wallet.pk)


def test_users_without_a_back_office_role_cannot_open_the_admin() -> None:
    client = _client(UserFactory.create())
    response = client.get("/admin/wallets/wallet/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_wallet_page_is_titled_by_owner_and_currency_and_shows_amounts_in_its_digits() -> None:
    # given a JPY wallet (no minor unit) that sent money today
    wallet = funded_wallet(user=UserFactory.create(username="kenji"), currency="JPY", amount="1500")
    funded_wallet(user=UserFactory.create(username="yui"), currency="JPY", amount="0")
    assert wallet.user is not None
    transfer_create(sender=wallet.user, recipient="yui", currency="JPY", amount=Decimal("657"))
    # when
    html = _client(StaffFactory.create()).get(f"/admin/wallets/wallet/{wallet.pk}/change/").content.decode()
    # then
    assert "<title>kenji · JPY |" in html and "<h2>kenji · JPY</h2>" in html
    assert '<div class="readonly">843</div>' in html  # balance
    assert '<div class="readonly">657</div>' in html  # outgoing today, never 657.0000
    assert "657.0000" not in html and "843.0000" not in html
