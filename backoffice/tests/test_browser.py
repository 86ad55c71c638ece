"""End to end in a real headless Chromium (Playwright driving Debian's ``chromium``) against a
live server: staff propose an adjustment, an admin approves it, the balance and the audit trail
show it. Skipped, loudly, only where no Chromium executable exists (CI installs one).

Screenshots go to ``$BACKOFFICE_SCREENSHOT_DIR`` when set (else the test's tmp dir).
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.tests.factories import DEFAULT_PASSWORD, AdminFactory, StaffFactory, UserFactory
from audit.models import AuditAction, AuditEvent
from ledger.models import ApprovalRequest, ApprovalStatus
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet

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
