"""Django admin of the outbox: read-only rows with a retry action for failed (or waiting) ones."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from outbox.models import OutboxMessage, OutboxStatus
from outbox.services import outbox_retry


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "status", "attempts", "next_attempt_at", "created_at", "sent_at", "short_error"]
    list_filter = ["status", "topic"]
    search_fields = ["=id", "topic", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "topic",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "updated_at",
        "pretty_payload",
    ]
    exclude = ["payload"]
    actions = ["retry_now"]

    @admin.display(description="Last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.display(description="Payload")
    def pretty_payload(self, obj: OutboxMessage) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.action(description="Retry the selected failed or pending rows now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.filter(status__in=[OutboxStatus.FAILED, OutboxStatus.PENDING]).values_list("pk", flat=True))
        skipped = queryset.count() - len(ids)
        retried = outbox_retry(ids=ids, actor=request.user.get_username())
        self.message_user(
            request,
            f"{retried} row(s) queued again; {skipped} skipped (already sent).",
            messages.SUCCESS if retried else messages.WARNING,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
