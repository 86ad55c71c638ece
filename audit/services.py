"""Writes of the audit trail: ``audit_record`` appends one event.

Call it INSIDE the atomic block of the change it describes, so the change and its audit row
commit or roll back together; outside any transaction it refuses to write (an audit row for a
change that might not happen, or a change with no audit row, are both wrong).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Model

from audit.context import client_ip_var
from audit.models import AuditAction, AuditEvent
from vaultcore.log_context import request_id_var

if TYPE_CHECKING:  # the audit trail sits below accounts: it names users, never imports them
    from accounts.models import User

SYSTEM_ACTOR = "system"


def _jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Decimals, dates and UUIDs as strings (exact: a Decimal is never turned into a float)."""
    if value is None:
        return None
    encoder = DjangoJSONEncoder()
    result: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, str | int | bool) or item is None:
            result[str(key)] = item
        elif isinstance(item, Mapping):
            result[str(key)] = _jsonable(item)
        else:
            result[str(key)] = encoder.default(item)
    return result


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target: Model | tuple[str, str],
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    target_repr: str | None = None,
) -> AuditEvent:
    """Append one audit event for ``action`` by ``actor`` (``None``: the system) on ``target``
    (a model instance, or ``(type, id)`` for something that is not a row, e.g. a key id).

    Keeps: written in the caller's open transaction (raises if there is none); the client IP
    and request id come from the request context when there is one.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the atomic block of the change it records")
    request_id = request_id_var.get()
    if isinstance(target, Model):
        target_type, target_id = target._meta.label_lower, str(target.pk)
        default_repr = str(target)
    else:
        target_type, target_id = target
        default_repr = f"{target_type} {target_id}"
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor.username if actor is not None else SYSTEM_ACTOR,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=(target_repr if target_repr is not None else default_repr)[:255],
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason.strip(),
        ip_address=client_ip_var.get(),
        request_id="" if request_id == "-" else request_id,
    )
