"""Operators' key rotation is audited (who: the system; what: the key id and counts)."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings

from audit.models import AuditAction, AuditEvent
from payments.tests.factories import BankAccountFactory

pytestmark = pytest.mark.django_db

OLD = f"old:{base64.b64encode(b'o' * 32).decode()}"
NEW = f"new:{base64.b64encode(b'n' * 32).decode()}"


def test_key_rotation_writes_an_audit_event_and_a_dry_run_does_not(settings: Settings) -> None:
    # given
    settings.ENCRYPTION_KEYS = OLD
    BankAccountFactory.create()
    settings.ENCRYPTION_KEYS = f"{NEW},{OLD}"
    # when
    call_command("rotate_encryption_key", "--dry-run", stdout=StringIO())
    assert AuditEvent.objects.count() == 0
    call_command("rotate_encryption_key", stdout=StringIO())
    # then
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_label, event.target_id) == (AuditAction.ENCRYPTION_KEY_ROTATE, "system", "new")
    assert event.after is not None and event.after["rows"] == 1
