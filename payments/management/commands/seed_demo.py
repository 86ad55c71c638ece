"""``manage.py seed_demo``: demo users, wallets and transactions for a newcomer, only when the
ledger is empty (no user wallets, no transactions) and the demo usernames are free, so running it
again (``make run`` does, every time) changes nothing and it never touches real data.

Everything goes through the real services, so the demo ledger verifies like any other.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import Role, User
from ledger.models import LedgerTransaction
from ledger.services.adjustments import adjustment_create
from ledger.services.transfers import transfer_create
from payments.deposits import deposit_create
from payments.withdrawals import withdrawal_create
from wallets.models import Wallet, WalletKind
from wallets.services import wallet_create

DEMO_PASSWORD = "vaultcore-demo-password"  # noqa: S105 - public demo data, refused outside DEBUG
DEMO_USERS = [
    ("alice", "Alice", "Anders", Role.USER),
    ("bob", "Bob", "Brown", Role.USER),
    ("carol", "Carol", "Clark", Role.USER),
    ("ops", "Olga", "Operator", Role.ADMIN),  # can log in to /admin/
]


class Command(BaseCommand):
    help = "Seed demo users, wallets and transactions when the ledger is empty (DEBUG only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production", action="store_true", help="seed even with DEBUG off (demo deployments only)"
        )
        parser.add_argument("--dry-run", action="store_true", help="only say whether it would seed; write nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def _done(self, options: dict[str, Any], outcome: str, message: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({"outcome": outcome, "message": message}, sort_keys=True))
        else:
            self.stdout.write(f"seed_demo: {message}")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            self._done(options, "skipped", "skipped (demo users have a public password; DEBUG is off).")
            return
        usernames = [name for name, *_ in DEMO_USERS]
        if (
            Wallet.objects.filter(kind=WalletKind.USER).exists()
            or LedgerTransaction.objects.exists()
            or User.objects.filter(username__in=usernames).exists()
        ):
            self._done(options, "unchanged", "the database already has data; nothing to do.")
            return
        if settings.PAYMENTS_PROVIDER != "sandbox":
            self._done(options, "skipped", "skipped (demo deposits need PAYMENTS_PROVIDER=sandbox).")
            return
        if options["dry_run"]:
            self._done(options, "would_seed", f"dry run: would create users {', '.join(usernames)} and demo data.")
            return
        people: dict[str, User] = {}
        for username, first, last, role in DEMO_USERS:
            people[username] = User.objects.create_user(
                username=username,
                email=f"{username}@example.com",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                role=role,
                is_email_verified=True,
            )
        alice, bob, carol, ops = (people[name] for name in usernames)
        for user, currencies in ((alice, ["USD", "EUR", "JPY"]), (bob, ["USD", "KWD"]), (carol, ["USD", "GBP"])):
            for currency in currencies:
                if currency in settings.WALLET_CURRENCIES:
                    wallet_create(user=user, currency=currency)
        deposit_create(user=alice, currency="USD", amount=Decimal("1500.00"))
        deposit_create(user=alice, currency="JPY", amount=Decimal("25000"))
        deposit_create(user=bob, currency="USD", amount=Decimal("300.00"))
        transfer_create(sender=alice, recipient="bob", currency="USD", amount=Decimal("125.50"), description="Concert")
        transfer_create(sender=bob, recipient="carol@example.com", currency="USD", amount=Decimal("42.00"))
        withdrawal_create(user=alice, currency="USD", amount=Decimal("200.00"))
        adjustment_create(
            acting_user=ops,
            wallet=carol.wallets.get(currency="USD"),
            amount=Decimal("10.00"),
            reason="Welcome bonus",
        )
        if options["json"]:
            self._done(options, "seeded", f"users {', '.join(people)}, wallets and transactions.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_demo: users {', '.join(people)} (password {DEMO_PASSWORD!r}), wallets and transactions."
            )
        )
