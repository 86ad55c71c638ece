"""``manage.py rotate_encryption_key``: re-encrypt every encrypted value with the newest key."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from payments.exceptions import DecryptionFailed
from payments.services import RotationReport, encryption_key_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of ENCRYPTION_KEYS, in batches. "
        "Resumable: values already on the newest key are skipped, so re-run after an interruption. "
        "When it reports nothing remaining, the old keys can be removed from ENCRYPTION_KEYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument("--dry-run", action="store_true", help="only count the values still on older keys")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            self.stderr.write("--batch-size must be at least 1")
            raise SystemExit(2)
        as_json: bool = options["json"]

        def progress(report: RotationReport) -> None:
            if not as_json:
                self.stdout.write(f"batch {report.batches}: {report.rows} rows re-encrypted so far")

        try:
            report = encryption_key_rotate(batch_size=batch_size, dry_run=options["dry_run"], on_batch=progress)
        except DecryptionFailed as exc:
            raise CommandError(str(exc.detail)) from None
        if not report.dry_run:
            with transaction.atomic(durable=True):  # the batches committed; this records the run
                audit_record(
                    actor=None,
                    action=AuditAction.ENCRYPTION_KEY_ROTATE,
                    target=("payments.encryption_key", report.key_id),
                    after=report.as_dict(),
                )
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))
            return
        if report.dry_run:
            for label, count in report.remaining.items():
                self.stdout.write(f"{label}: {count} row(s) still on an older key")
            return
        remaining = sum(report.remaining.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {report.values} value(s) in {report.rows} row(s) with key {report.key_id!r}; "
                f"{remaining} row(s) remaining."
            )
        )
