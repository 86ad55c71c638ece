"""End to end in a real headless Chromium (Playwright driving Debian's ``chromium``) against a
live server: staff propose an adjustment, an admin approves it, the balance and the audit trail
show it. Skipped, loudly, only where no Chromium executable exists (CI installs one).

Screenshots go to ``$BACKOFFICE_SCREENSHOT_DIR`` when set (else the test's tmp dir).
"""

from __future__ import annotations

import base64
import os
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.tests.factories import DEFAULT_PASSWORD, AdminFactory, StaffFactory, UserFactory
from audit.models import AuditAction, AuditEvent
from ledger.approvals import adjustment_propose
from ledger.models import (
    ApprovalRequest,
    ApprovalStatus,
    Direction,
    LedgerTransaction,
    TransactionStatus,
    TransactionType,
)
from ledger.services.transfers import transfer_create
from ledger.tests.factories import funded_wallet
from outbox.models import OutboxMessage, OutboxStatus
from payments.models import StripeEventStatus
from payments.tests.factories import StripeEventFactory
from wallets.models import SystemAccount, Wallet
from wallets.services import system_wallet_get

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH", ""), "/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="NO CHROMIUM FOUND (/usr/bin/chromium or CHROMIUM_PATH): the back-office browser test did NOT run. "
        "Install it with `apt-get install -y chromium` (.ci/run does).",
    ),
]


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("BACKOFFICE_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_staff_propose_and_admin_approve_an_adjustment_in_a_real_browser(
    live_server: LiveServer, settings: Settings, screenshots: Path
) -> None:
    # given (plain HTTP on localhost: the test server has no TLS)
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    wallet = funded_wallet(user=UserFactory.create(username="alice"), amount="10.00")
    staff = StaffFactory.create(username="sam_staff")
    admin = AdminFactory.create(username="ada_admin")
    base = live_server.url

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # when staff log in and propose a credit from the wallet's page
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(f"{base}/admin/login/")
            page.fill("#id_username", staff.username)
            page.fill("#id_password", DEFAULT_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#backoffice-dashboard")
            page.goto(f"{base}/admin/wallets/wallet/{wallet.pk}/change/")
            assert "10.00" in page.inner_text(".field-balance_amount")
            page.click("text=Propose a credit or debit")
            assert page.input_value("#id_wallet") == str(wallet.public_id)
            page.select_option("#id_direction", "credit")
            page.fill("#id_amount", "25.00")
            page.fill("#id_reason", "Goodwill credit for ticket 1234")
            page.screenshot(path=str(screenshots / "1-propose.png"), full_page=True)
            page.click("input[type=submit][value=Propose]")
            page.wait_for_selector(".messagelist .success")
            assert "moves no money" in page.inner_text(".messagelist")
            page.screenshot(path=str(screenshots / "2-proposed.png"), full_page=True)

            # then the staff member sees no Approve/Reject buttons, and opening the page anyway
            # explains why instead of failing
            page.goto(f"{base}/admin/ledger/approvalrequest/")
            assert page.locator('#result_list a:text-is("Approve")').count() == 0
            change_url = page.get_attribute("#result_list tbody tr th a", "href")
            assert change_url is not None and change_url.endswith("/change/")
            response = page.goto(base + change_url.removesuffix("change/") + "approve/")
            assert response is not None and response.status == 403
            assert "Only an admin or a superuser" in page.inner_text(".messagelist")
            assert page.locator("input[type=submit][value='Approve and post']").count() == 0

            # when an admin logs in (a separate browser session), sees it on the dashboard and approves it
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(f"{base}/admin/login/")
            page.fill("#id_username", admin.username)
            page.fill("#id_password", DEFAULT_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#tile-approvals")
            assert "1" in page.inner_text("#tile-approvals")
            page.screenshot(path=str(screenshots / "3-dashboard.png"), full_page=True)
            page.goto(f"{base}/admin/ledger/approvalrequest/")
            # the wide list fits: its buttons are in view and the page does not scroll sideways
            button = page.locator('#result_list a:text-is("Approve")').bounding_box()
            assert button is not None and button["x"] + button["width"] <= 1400
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            page.click('#result_list a:text-is("Approve")')
            assert "Goodwill credit for ticket 1234" in page.inner_text("#content-main")
            page.click("input[type=submit][value='Approve and post']")
            page.wait_for_selector(".messagelist .success")
            assert "approved and posted" in page.inner_text(".messagelist")
            page.screenshot(path=str(screenshots / "4-approved.png"), full_page=True)

            # then the wallet shows the new balance and the audit trail the approval
            page.goto(f"{base}/admin/wallets/wallet/{wallet.pk}/change/")
            assert "35.00" in page.inner_text(".field-balance_amount")
            page.goto(f"{base}/admin/audit/auditevent/?action__exact=adjustment.approve")
            rows = page.inner_text("#result_list")
            assert "ada_admin" in rows and "Adjustment approved" in rows
            page.screenshot(path=str(screenshots / "5-audit.png"), full_page=True)
        finally:
            browser.close()

    # and the database agrees (checked after the browser's event loop is gone)
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("35.00")
    approval = ApprovalRequest.objects.get()
    assert (approval.status, approval.proposed_by_id, approval.decided_by_id) == (
        ApprovalStatus.APPROVED,
        staff.pk,
        admin.pk,
    )
    event = AuditEvent.objects.get(action=AuditAction.ADJUSTMENT_APPROVE)
    assert event.actor_id == admin.pk and event.ip_address == "127.0.0.1"


# Distinct colours of a PNG, decoded by the browser itself (no imaging library needed), and
# which of ``wanted`` (``#rrggbb``) appear in it.
_COLOURS_JS = """async ([data, wanted]) => {
  const img = new Image();
  img.src = "data:image/png;base64," + data;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  const hex = (v) => v.toString(16).padStart(2, "0");
  for (let i = 0; i < px.length; i += 4) seen.add("#" + hex(px[i]) + hex(px[i + 1]) + hex(px[i + 2]));
  return {count: seen.size, found: wanted.filter(c => seen.has(c)), width: img.width, height: img.height};
}"""


def _colours(context, png: bytes, wanted: list[str] | None = None) -> dict:
    page = context.new_page()
    try:
        return page.evaluate(_COLOURS_JS, [base64.b64encode(png).decode(), wanted or []])
    finally:
        page.close()


def test_dashboard_charts_a_wallet_and_a_non_deciders_approval_page_in_a_real_browser(
    live_server: LiveServer, settings: Settings, screenshots: Path
) -> None:
    # given money moved in two currencies, a deposit pending for 2 hours, a failed Stripe event
    # and outbox row, and an adjustment proposed by the admin who then looks at it
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    alice = funded_wallet(user=UserFactory.create(username="alice"), amount="657.46")
    funded_wallet(user=UserFactory.create(username="bob"), amount="0")
    funded_wallet(currency="EUR", amount="3.00")
    assert alice.user is not None
    transfer_create(sender=alice.user, recipient="bob", currency="USD", amount=Decimal("1.26"))
    clearing = system_wallet_get(code=SystemAccount.PROVIDER_CLEARING, currency="USD")
    LedgerTransaction.objects.create(
        type=TransactionType.DEPOSIT,
        status=TransactionStatus.PENDING,
        currency="USD",
        amount=Decimal("4.00"),
        debit_wallet=clearing,
        credit_wallet=alice,
        created_at=timezone.now() - timedelta(hours=2),
    )
    StripeEventFactory.create(stripe_id="evt_browser_failed", status=StripeEventStatus.FAILED, error="boom")
    OutboxMessage.objects.create(topic="tests.browser", payload={}, status=OutboxStatus.FAILED)
    ada = AdminFactory.create(username="ada_admin")
    own = adjustment_propose(acting_user=ada, wallet=alice, direction=Direction.CREDIT, amount="5", reason="mine")
    base = live_server.url

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(f"{base}/admin/login/")
            page.fill("#id_username", ada.username)
            page.fill("#id_password", DEFAULT_PASSWORD)
            page.click("input[type=submit]")

            # when the admin lands on the dashboard
            page.wait_for_selector("#backoffice-charts")
            # then it shows the charts (drawn bars), the failed webhook and side effect
            for chart in ("volume-USD", "volume-EUR", "pending-age", "failures"):
                assert page.locator(f"#chart-{chart} svg").is_visible(), chart
            assert page.locator("#chart-volume-USD rect.bo-bar").count() == 2  # deposit, transfer
            assert page.locator("#chart-pending-age rect.bo-bar").count() == 1
            assert page.locator("#chart-failures rect.bo-bar").count() == 2  # Stripe event, outbox row
            assert page.inner_text("#stripe-failed").strip() == "1"
            assert page.inner_text("#outbox-failed").strip() == "1"
            assert "evt_browser_failed" in page.inner_text("#tile-attention")
            assert "657.46" in page.inner_text("#tile-USD")
            dashboard_png = page.screenshot(path=str(screenshots / "6-dashboard-charts.png"), full_page=True)
            chart_png = page.locator("#chart-volume-USD").screenshot(path=str(screenshots / "7-volume-chart.png"))

            # when they open alice's wallet
            page.goto(f"{base}/admin/wallets/wallet/{alice.pk}/change/")
            # then it is titled by owner and currency, amounts in the currency's digits
            assert page.inner_text("#content h2").strip() == "alice · USD"
            assert page.inner_text(".field-balance_amount .readonly").strip() == "656.20"
            assert page.inner_text(".field-outgoing_today_amount .readonly").strip() == "1.26"
            assert page.locator("input[name=_save]").count() == 0
            wallet_png = page.screenshot(path=str(screenshots / "8-wallet.png"), full_page=True)

            # when they look at their own proposal: no buttons in the list
            page.goto(f"{base}/admin/ledger/approvalrequest/")
            assert page.locator("#result_list tbody tr").count() == 1
            assert page.locator('#result_list a:text-is("Approve")').count() == 0
            # and opening its Approve page anyway explains why, without a form (never a 500)
            response = page.goto(f"{base}/admin/ledger/approvalrequest/{own.pk}/approve/")
            assert response is not None and response.status == 403
            assert "another admin must decide it" in page.inner_text(".messagelist")
            assert page.locator("form input[type=submit]").count() == 0
            refused_png = page.screenshot(path=str(screenshots / "9-approval-refused.png"), full_page=True)

            # then every screenshot is a real picture (many colours), and the chart's shows the
            # deposit and transfer bars in their colours
            for png in (dashboard_png, wallet_png, refused_png):
                seen = _colours(context, png)
                assert seen["width"] >= 1400 and seen["count"] > 50, seen
            bars = _colours(context, chart_png, ["#417690", "#009e73"])
            assert bars["found"] == ["#417690", "#009e73"], bars
        finally:
            browser.close()

    assert ApprovalRequest.objects.get().status == ApprovalStatus.PENDING
