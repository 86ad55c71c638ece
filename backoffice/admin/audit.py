"""Django admin for the audit trail: read-only, filterable, never editable or deletable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.models import AuditEvent
from audit.selectors import audit_event_list
from backoffice.display import pretty_json


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "actor_label", "action", "target_type", "target_repr", "reason", "ip_address")
    list_filter = ("action", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "target_id", "target_repr", "reason", "request_id")
    readonly_fields = [
        *(f.name for f in AuditEvent._meta.fields if f.name not in ("before", "after")),
        "before_json",
        "after_json",
    ]
    fields = tuple(readonly_fields)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return audit_event_list()

    @admin.display(description="Before")
    def before_json(self, obj: AuditEvent) -> str:
        return pretty_json(obj.before) if obj.before is not None else "-"

    @admin.display(description="After")
    def after_json(self, obj: AuditEvent) -> str:
        return pretty_json(obj.after) if obj.after is not None else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
