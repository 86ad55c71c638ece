"""``manage.py freeze_wallet``: freeze a user's wallet (audited; see _wallet_status.py)."""

from __future__ import annotations

from collections.abc import Callable

from wallets.management.commands._wallet_status import WalletStatusCommand
from wallets.models import Wallet, WalletStatus
from wallets.services import wallet_freeze


class Command(WalletStatusCommand):
    help = (
        "Freeze a user's wallet (no sending or receiving) by --wallet-id or --username/--currency, "
        "with a required --reason, as --actor (staff or above); audited. "
        "Exit codes: 0 done or already frozen, 1 refused or not found, 2 invalid arguments."
    )
    target_status = WalletStatus.FROZEN
    verb = "frozen"

    def service(self) -> Callable[..., Wallet]:
        return wallet_freeze
