"""``python manage.py bootstrap_superuser``: create or update the superuser from the environment.

Reads SUPERUSER_USERNAME, SUPERUSER_EMAIL, SUPERUSER_PASSWORD (required) and SUPERUSER_FIRST_NAME,
SUPERUSER_MIDDLE_NAME, SUPERUSER_LAST_NAME (optional), through settings. Idempotent; never prints
the password. ``--if-configured`` exits quietly (with a hint) when the variables are not set.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.exceptions import AccountsError
from accounts.models import User

_HINT = (
    "No superuser configured. To create one, set SUPERUSER_USERNAME, SUPERUSER_EMAIL and "
    "SUPERUSER_PASSWORD (and optionally SUPERUSER_FIRST_NAME, SUPERUSER_MIDDLE_NAME, "
    "SUPERUSER_LAST_NAME) in the environment or .env, then run: python manage.py bootstrap_superuser"
)


class Command(BaseCommand):
    help = "Create or update the superuser from SUPERUSER_* environment variables (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-configured",
            action="store_true",
            help="Do nothing (print how to configure one) when SUPERUSER_USERNAME is not set.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say whether the user would be created or updated; write nothing"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        username, email, password = settings.SUPERUSER_USERNAME, settings.SUPERUSER_EMAIL, settings.SUPERUSER_PASSWORD
        if not username and options["if_configured"]:
            self.stdout.write(_HINT)
            return
        missing = [
            name
            for name, value in (
                ("SUPERUSER_USERNAME", username),
                ("SUPERUSER_EMAIL", email),
                ("SUPERUSER_PASSWORD", password),
            )
            if not value
        ]
        if missing:
            raise CommandError(f"Missing {', '.join(missing)}. {_HINT}")
        if options["dry_run"]:
            exists = User.objects.filter(username__iexact=username).exists()
            outcome = "would_update_or_keep" if exists else "would_create"
            self._report(options, username, outcome)
            return
        try:
            result = services.superuser_bootstrap(
                username=username,
                email=email,
                password=password,
                first_name=settings.SUPERUSER_FIRST_NAME,
                middle_name=settings.SUPERUSER_MIDDLE_NAME,
                last_name=settings.SUPERUSER_LAST_NAME,
            )
        except AccountsError as exc:
            raise CommandError(f"{exc.attr or 'superuser'}: {exc.detail}") from None
        self._report(options, result.user.username, result.outcome)

    def _report(self, options: dict[str, Any], username: str, outcome: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({"username": username, "outcome": outcome}, sort_keys=True))
        elif outcome.startswith("would_"):
            self.stdout.write(f"dry run: superuser '{username}' {outcome.replace('_', ' ')}; nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Superuser '{username}' {outcome}."))
