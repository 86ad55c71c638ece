"""freeze_wallet / unfreeze_wallet: through the service, audited, with clear exit codes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.tests.factories import StaffFactory, UserFactory
from audit.models import AuditAction, AuditEvent
from ledger.tests.factories import funded_wallet
from wallets.models import Wallet, WalletStatus

pytestmark = pytest.mark.django_db


def _run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def test_freeze_by_username_and_currency_then_unfreeze_by_id() -> None:
    # given
    wallet = funded_wallet(amount="1.00")
    assert wallet.user is not None
    staff = StaffFactory.create()
    # when
    out = _run(
        "freeze_wallet",
        f"--username={wallet.user.username}",
        "--currency=usd",
        "--reason=court order 42",
        f"--actor={staff.username}",
    )
    # then
    assert "frozen" in out
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.FROZEN
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id, event.reason) == (AuditAction.WALLET_FREEZE, staff.pk, "court order 42")
    # when unfrozen by public id, as JSON
    result = json.loads(
        _run(
            "unfreeze_wallet",
            f"--wallet-id={wallet.public_id}",
            "--reason=order lifted",
            f"--actor={staff.username}",
            "--json",
        )
    )
    # then
    assert result["status_before"] == "frozen" and result["status_after"] == "active" and result["changed"]
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE


def test_dry_run_changes_nothing() -> None:
    wallet = funded_wallet(amount="1.00")
    staff = StaffFactory.create()
    out = _run(
        "freeze_wallet", f"--wallet-id={wallet.public_id}", "--reason=x", f"--actor={staff.username}", "--dry-run"
    )
    assert "would be frozen" in out
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE
    assert AuditEvent.objects.count() == 0


def test_refusals_have_exit_codes_and_change_nothing() -> None:
    wallet = funded_wallet(amount="1.00")
    staff = StaffFactory.create()
    cases = [
        ((f"--wallet-id={wallet.public_id}", "--reason=x", f"--actor={UserFactory.create().username}"), 1),
        (("--wallet-id=not-a-uuid", "--reason=x", f"--actor={staff.username}"), 2),
        (("--username=nobody", "--currency=USD", "--reason=x", f"--actor={staff.username}"), 1),
        ((f"--wallet-id={wallet.public_id}", "--reason=  ", f"--actor={staff.username}"), 2),
        ((f"--wallet-id={wallet.public_id}", "--reason=x", "--actor=ghost"), 1),
    ]
    for args, code in cases:
        with pytest.raises(CommandError) as excinfo:
            call_command("freeze_wallet", *args, stdout=StringIO())
        assert excinfo.value.returncode == code, args
    assert Wallet.objects.get(pk=wallet.pk).status == WalletStatus.ACTIVE
    assert AuditEvent.objects.count() == 0


def test_reason_is_required_by_the_parser() -> None:
    with pytest.raises(CommandError, match="--reason"):
        call_command("freeze_wallet", "--wallet-id=x", "--actor=y")
