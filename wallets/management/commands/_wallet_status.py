"""Shared body of ``freeze_wallet`` and ``unfreeze_wallet``.

Exit codes: 0 done (or already in that state), 1 refused (no such wallet or actor, the actor's
role does not allow it), 2 invalid arguments (argparse's own code).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from vaultcore.errors import DomainError
from wallets.models import Wallet, WalletKind, WalletStatus


class WalletStatusCommand(BaseCommand):
    target_status: WalletStatus
    verb: str

    def service(self) -> Callable[..., Wallet]:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--wallet-id", help="the wallet's public id (UUID)")
        which.add_argument("--username", help="the owner's username (with --currency)")
        parser.add_argument("--currency", help="the wallet's currency, with --username")
        parser.add_argument("--reason", required=True, help="why (required; recorded in the audit trail)")
        parser.add_argument(
            "--actor", required=True, help="username of the staff member doing this (audited as the actor)"
        )
        parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def _wallet(self, options: dict[str, Any]) -> Wallet:
        qs = Wallet.objects.select_related("user").filter(kind=WalletKind.USER)
        if options["wallet_id"]:
            try:
                public_id = uuid.UUID(options["wallet_id"])
            except ValueError:
                raise CommandError("--wallet-id must be a UUID.", returncode=2) from None
            wallet = qs.filter(public_id=public_id).first()
        else:
            if not options["currency"]:
                raise CommandError("--username needs --currency.", returncode=2)
            wallet = qs.filter(user__username__iexact=options["username"], currency=options["currency"].upper()).first()
        if wallet is None:
            raise CommandError("No such user wallet.", returncode=1)
        return wallet

    def handle(self, *args: Any, **options: Any) -> None:
        reason = (options["reason"] or "").strip()
        if not reason:
            raise CommandError("--reason must not be empty.", returncode=2)
        actor = User.objects.filter(username__iexact=options["actor"], is_active=True).first()
        if actor is None:
            raise CommandError("--actor: no active user with this username.", returncode=1)
        wallet = self._wallet(options)
        before = wallet.status
        changed = before != self.target_status
        if not options["dry_run"]:
            try:
                wallet = self.service()(acting_user=actor, wallet=wallet, reason=reason)
            except DomainError as exc:
                raise CommandError(str(exc.detail), returncode=1) from None
        result = {
            "wallet_id": str(wallet.public_id),
            "owner": wallet.user.username if wallet.user else None,
            "currency": wallet.currency,
            "status_before": before,
            "status_after": self.target_status if not options["dry_run"] else before,
            "changed": changed and not options["dry_run"],
            "would_change": changed,
            "dry_run": options["dry_run"],
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
            return
        label = f"wallet {wallet.public_id} ({result['owner']} {wallet.currency})"
        if options["dry_run"]:
            self.stdout.write(f"dry run: {label} is {before}; would {'be ' + self.verb if changed else 'stay as is'}.")
        elif changed:
            self.stdout.write(self.style.SUCCESS(f"{label} {self.verb}."))
        else:
            self.stdout.write(f"{label} was already {before}; nothing changed.")
