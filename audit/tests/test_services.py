"""audit_record: written inside the change's transaction, with the request's IP and id."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from accounts.tests.factories import AdminFactory, StaffFactory, UserFactory
from audit.context import audit_ip
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from ledger.services.adjustments import adjustment_create
from ledger.services.reversals import transaction_reverse
from ledger.tests.factories import funded_wallet
from wallets.exceptions import ReasonRequired
from wallets.services import wallet_freeze

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_write_outside_a_transaction() -> None:
    staff = StaffFactory.create()
    with pytest.raises(RuntimeError, match="atomic"):
        audit_record(actor=staff, action=AuditAction.WALLET_FREEZE, target=staff)
    assert AuditEvent.objects.count() == 0


def test_the_audit_row_rolls_back_with_the_change() -> None:
    # given
    staff = StaffFactory.create()
    # when the surrounding transaction fails after the audit row was written
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(actor=staff, action=AuditAction.WALLET_FREEZE, target=staff)
        _ = 1 / 0
    # then
    assert AuditEvent.objects.count() == 0


def test_snapshot_values_ip_and_system_actor() -> None:
    # given
    user = UserFactory.create()
    # when
    with audit_ip("203.0.113.9"), transaction.atomic():
        event = audit_record(
            actor=None,
            action=AuditAction.REVERSAL_POST,
            target=user,
            before={"amount": Decimal("10.50")},
            after={"nested": {"amount": Decimal("0.01")}},
        )
    # then decimals are exact strings, the system is named, the IP recorded
    event.refresh_from_db()
    assert event.before == {"amount": "10.50"}
    assert event.after == {"nested": {"amount": "0.01"}}
    assert (event.actor_id, event.actor_label, event.ip_address) == (None, "system", "203.0.113.9")
    assert (event.target_type, event.target_id) == ("accounts.user", str(user.pk))


def test_sensitive_services_write_their_audit_event() -> None:
    # given
    admin = AdminFactory.create()
    staff = StaffFactory.create()
    wallet = funded_wallet(amount="10.00")
    # when
    wallet_freeze(acting_user=staff, wallet=wallet, reason="fraud")
    adjustment_create(acting_user=staff, wallet=wallet, amount=Decimal("2.00"), reason="goodwill")
    deposit = wallet.entries.first()
    assert deposit is not None
    transaction_reverse(acting_user=None, transaction_id=deposit.transaction_id, reason="charge.refunded")
    from accounts import services as accounts_services

    accounts_services.user_role_change(acting_user=admin, user=staff, role="user")
    accounts_services.user_sessions_revoke_by(acting_user=admin, user=staff, reason="lost laptop")
    accounts_services.user_deactivate(acting_user=admin, user=staff, reason="left the company")
    # then
    assert list(AuditEvent.objects.order_by("id").values_list("action", "actor_label")) == [
        (AuditAction.WALLET_FREEZE, staff.username),
        (AuditAction.ADJUSTMENT_POST, staff.username),
        (AuditAction.REVERSAL_POST, "system"),
        (AuditAction.USER_ROLE_CHANGE, admin.username),
        (AuditAction.USER_SESSIONS_REVOKE, admin.username),
        (AuditAction.USER_DEACTIVATE, admin.username),
    ]


def test_freeze_without_reason_changes_nothing() -> None:
    wallet = funded_wallet(amount="1.00")
    with pytest.raises(ReasonRequired):
        wallet_freeze(acting_user=StaffFactory.create(), wallet=wallet, reason="  ")
    assert AuditEvent.objects.count() == 0


def test_the_middleware_records_the_client_ip(settings) -> None:
    # given a trusted proxy in front
    settings.THROTTLE_NUM_PROXIES = 1
    staff = StaffFactory.create()
    wallet = funded_wallet(amount="1.00")
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    client.force_login(staff)
    # when
    client.post(
        "/admin/wallets/wallet/",
        {"action": "freeze", "_selected_action": [str(wallet.pk)], "apply": "1", "reason": "r"},
        HTTP_X_REQUEST_ID="req-123",
    )
    # then
    event = AuditEvent.objects.get()
    assert (event.ip_address, event.request_id) == ("198.51.100.7", "req-123")


def test_audit_admin_is_read_only() -> None:
    staff = StaffFactory.create()
    wallet = funded_wallet(amount="1.00")
    wallet_freeze(acting_user=staff, wallet=wallet, reason="r")
    event = AuditEvent.objects.get()
    client = Client()
    client.force_login(AdminFactory.create())
    assert client.get("/admin/audit/auditevent/", {"action__exact": "wallet.freeze"}).status_code == 200
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"reason": "edited"})
    client.post(
        "/admin/audit/auditevent/", {"action": "delete_selected", "_selected_action": [str(event.pk)], "post": "yes"}
    )
    event.refresh_from_db()
    assert event.reason == "r"


def test_user_and_wallet_pages_link_to_their_audit_trail_and_the_links_filter() -> None:
    # given
    staff = StaffFactory.create()
    wallet = funded_wallet(amount="1.00")
    other = funded_wallet(amount="1.00")
    wallet_freeze(acting_user=staff, wallet=wallet, reason="mine")
    wallet_freeze(acting_user=staff, wallet=other, reason="other")
    assert wallet.user is not None
    client = Client()
    client.force_login(AdminFactory.create())
    # when
    wallet_page = client.get(f"/admin/wallets/wallet/{wallet.pk}/change/").content.decode()
    user_page = client.get(f"/admin/accounts/user/{staff.pk}/change/").content.decode()
    # then
    link = f"/admin/audit/auditevent/?target_type=wallets.wallet&amp;target_id={wallet.pk}"
    assert link in wallet_page
    assert f"/admin/audit/auditevent/?actor__id__exact={staff.pk}" in user_page
    filtered = client.get(link.replace("&amp;", "&"))
    assert filtered.status_code == 200
    assert "mine" in filtered.content.decode() and ">other<" not in filtered.content.decode()
    by_actor = client.get(f"/admin/audit/auditevent/?actor__id__exact={staff.pk}").content.decode()
    assert "mine" in by_actor and "other" in by_actor
    wallets = client.get(f"/admin/wallets/wallet/?user__id__exact={wallet.user.pk}")
    assert wallets.status_code == 200 and str(wallet.public_id) in wallets.content.decode()
    assert str(other.public_id) not in wallets.content.decode()
