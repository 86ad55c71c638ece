"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import Model, QuerySet

from audit.models import AuditEvent


def audit_event_list(*, action: str | None = None, actor_id: int | None = None) -> QuerySet[AuditEvent]:
    """Audit events, newest first, with their actor joined."""
    qs = AuditEvent.objects.select_related("actor").order_by("-id")
    if action:
        qs = qs.filter(action=action)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    return qs


def audit_event_list_for(*, target: Model) -> QuerySet[AuditEvent]:
    """The audit events of one object, newest first."""
    return audit_event_list().filter(target_type=target._meta.label_lower, target_id=str(target.pk))
