"""Every admin page a superuser can reach, with one of every kind of record: none answers 500,
none shows an amount with more digits than its currency, none shows a secret, and pages that
cannot save show no Save button."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import StaffFactory, SuperuserFactory, UserFactory
from audit.models import LedgerVerificationRun
from ledger.approvals import adjustment_propose, approval_approve, reversal_propose
from ledger.models import Direction, IdempotencyKey
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet, withdrawal_hold
from outbox.models import OutboxMessage, OutboxStatus
from payments.models import StripeEventStatus
from payments.tests.factories import BankAccountFactory, ReconciliationIssueFactory, StripeEventFactory

pytestmark = pytest.mark.django_db

_ADMIN_LINK = re.compile(r'href="(/admin/[^"#?]*)')
# An amount written with 4 decimals (the column's scale) where the currency has 0, 2 or 3.
_FOUR_DECIMALS = re.compile(r"(?<![\d.:])\d+\.\d{4}(?![\d.])")
CLIENT_SECRET = "pi_3Pages_secret_Zz0123456789abcdef"


def _crawl(client: Client, *, limit: int = 300) -> dict[str, str]:
    """Every admin page reachable by links from the index (GET only): path -> HTML."""
    seen: dict[str, str] = {}
    queue = ["/admin/"]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or "logout" in path or path.endswith("/delete/"):
            continue
        response = client.get(path)
        assert response.status_code in (200, 302, 403, 404), (path, response.status_code)
        seen[path] = response.content.decode() if response.status_code == 200 else ""
        queue.extend(link for link in _ADMIN_LINK.findall(seen[path]) if link not in seen)
    return seen


@pytest.fixture
def crawled() -> dict[str, str]:
    """Records of every admin model, in USD (2 digits), JPY (0) and KWD (3), then the crawl."""
    superuser = SuperuserFactory.create()
    staff = StaffFactory.create()
    usd = funded_wallet(user=UserFactory.create(username="alice"), amount="657.46")
    jpy = funded_wallet(currency="JPY", amount="1500")
    kwd = funded_wallet(currency="KWD", amount="1.260")
    recipient = funded_wallet(user=UserFactory.create(username="bob"), amount="0")
    assert usd.user is not None
    transfer = transfer_create(sender=usd.user, recipient="bob", currency="USD", amount=Decimal("1.26"))
    withdrawal_hold(wallet=usd, amount="2.50")
    approval = adjustment_propose(
        acting_user=staff, wallet=kwd, direction=Direction.CREDIT, amount="0.125", reason="goodwill"
    )
    approval_approve(acting_user=superuser, approval_id=approval.pk, note="ok")
    adjustment_propose(acting_user=staff, wallet=jpy, direction=Direction.DEBIT, amount="7", reason="fee")
    reversal_propose(acting_user=staff, original=transfer, reason="sent by mistake")
    StripeEventFactory.create(
        type="payment_intent.succeeded",
        status=StripeEventStatus.FAILED,
        error="boom",
        payload={"data": {"object": {"id": "pi_3Pages", "client_secret": CLIENT_SECRET, "amount": 1260}}},
    )
    ReconciliationIssueFactory.create(wallet=recipient, expected={"amount": "1.26"}, actual={"amount": "1.00"})
    OutboxMessage.objects.create(
        topic="tests.page", payload={"api_key": "sk_live_pages123"}, status=OutboxStatus.FAILED
    )
    BankAccountFactory.create(owner=usd.user)
    IdempotencyKey.objects.create(
        user=usd.user,
        key="k-1",
        operation="transfer",
        fingerprint="f" * 64,
        transaction=transfer,
        locked_at=transfer.created_at,
        outcome={"result": {"amount": "1.26", "token": "secret-ish"}},
    )
    LedgerVerificationRun.objects.create(ok=True, finished_at=usd.created_at)
    client = Client()
    client.force_login(superuser)
    pages = _crawl(client)
    assert len(pages) > 40, sorted(pages)
    return pages


def test_no_admin_page_shows_an_amount_with_the_columns_four_decimals(crawled: dict[str, str]) -> None:
    # then every amount has its currency's digits: 657.46, 1500, 1.260 (never 657.4600)
    offending = {path: _FOUR_DECIMALS.findall(html) for path, html in crawled.items() if _FOUR_DECIMALS.search(html)}
    assert offending == {}
    wallets = crawled["/admin/wallets/wallet/"]
    assert "656.20" in wallets and "653.70" in wallets and "1500" in wallets and "1.385" in wallets


def test_no_admin_page_shows_a_secret_from_a_stored_payload(crawled: dict[str, str]) -> None:
    assert [path for path, html in crawled.items() if CLIENT_SECRET in html or "sk_live_pages123" in html] == []
    assert any("[redacted]" in html for path, html in crawled.items() if "/stripeevent/" in path)


def test_read_only_pages_have_no_save_button(crawled: dict[str, str]) -> None:
    # then only the user page (names and role are editable) and the webhook endpoints (admins add
    # and edit platform endpoints) offer to save
    saving = sorted({path.split("/")[3] for path, html in crawled.items() if 'name="_save"' in html})
    assert saving == ["user", "webhookendpoint"]
    change_pages = [path for path in crawled if path.endswith("/change/")]
    assert {path.split("/")[3] for path in change_pages} >= {
        "wallet",
        "ledgertransaction",
        "approvalrequest",
        "stripeevent",
        "reconciliationissue",
        "outboxmessage",
        "auditevent",
        "idempotencykey",
        "bankaccount",
        "user",
    }
