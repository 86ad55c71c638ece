"""Django admin of the outbox: read-only rows with a retry action for failed (or waiting) ones."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from backoffice.display import pretty_json, redacted_text
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
        "last_error_text",
        "created_at",
        "sent_at",
        "updated_at",
        "pretty_payload",
    ]
    fields = tuple(readonly_fields)  # never the raw payload or error
    actions = ["retry_now"]

    @admin.display(description="Last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return redacted_text(obj.last_error)[:80]

    @admin.display(description="Last error")
    def last_error_text(self, obj: OutboxMessage) -> str:
        return redacted_text(obj.last_error)

    @admin.display(description="Payload")
    def pretty_payload(self, obj: OutboxMessage) -> str:
        return pretty_json(obj.payload)

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
        return False  # viewed here, retried by the action, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
