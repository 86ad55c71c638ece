"""``manage.py unfreeze_wallet``: unfreeze a user's wallet (audited; see _wallet_status.py)."""

from __future__ import annotations

from collections.abc import Callable

from wallets.management.commands._wallet_status import WalletStatusCommand
from wallets.models import Wallet, WalletStatus
from wallets.services import wallet_unfreeze


class Command(WalletStatusCommand):
    help = (
        "Unfreeze a user's wallet by --wallet-id or --username/--currency, with a required --reason, "
        "as --actor (staff or above); audited. "
        "Exit codes: 0 done or already active, 1 refused or not found, 2 invalid arguments."
    )
    target_status = WalletStatus.ACTIVE
    verb = "unfrozen"

    def service(self) -> Callable[..., Wallet]:
        return wallet_unfreeze
