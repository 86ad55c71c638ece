"""The audit trail is append-only in PostgreSQL itself: updates and deletes are refused even
when Python is bypassed (queryset .update()/.delete(), raw SQL)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import StaffFactory
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def _event() -> AuditEvent:
    staff = StaffFactory.create()
    with transaction.atomic():
        return audit_record(actor=staff, action=AuditAction.WALLET_FREEZE, target=staff, reason="test")


def test_audit_events_cannot_be_updated() -> None:
    event = _event()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor_label = 'nobody' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert (event.reason, event.actor_label) == ("test", event.actor.username if event.actor else "")


def test_audit_events_cannot_be_deleted() -> None:
    event = _event()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()
