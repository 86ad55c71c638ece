"""Django admin (back-office) for payments; writes go through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from backoffice.display import pretty_json, redacted_text
from payments.exceptions import PaymentError
from payments.models import (
    BankAccount,
    ReconciliationIssue,
    ReconciliationIssueStatus,
    StripeEvent,
    StripeEventStatus,
)
from payments.services import reconciliation_issue_resolve, stripe_event_is_retryable, stripe_event_retry


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    """Masked only: the encrypted columns are never shown, decrypted or editable here."""

    list_display = ["id", "owner", "masked_account_number", "country", "currency", "created_at", "deleted_at"]
    list_filter = ["country", "currency", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["owner__username", "owner__email", "account_number_last4", "=id"]
    list_select_related = ["owner"]
    fields = ["id", "owner", "masked_account_number", "country", "currency", "created_at", "deleted_at"]
    readonly_fields = ["id", "owner", "masked_account_number", "country", "currency", "created_at", "deleted_at"]
    ordering = ["-created_at"]

    @admin.display(description="Account number")
    def masked_account_number(self, obj: BankAccount) -> str:
        return obj.masked_account_number

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Read-only log of Stripe webhook events, with a retry action for failed or stuck ones."""

    list_display = ["stripe_id", "type", "status", "being_processed", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type", "livemode"]
    search_fields = ["=stripe_id", "type"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "stripe_id",
        "type",
        "status",
        "attempts",
        "error_text",
        "note",
        "livemode",
        "api_version",
        "stripe_created_at",
        "received_at",
        "processed_at",
        "updated_at",
        "locked_until",
        "pretty_payload",
    ]
    fields = tuple(readonly_fields)  # never the raw payload, error or lease token
    actions = ["retry_processing"]

    @admin.display(description="Being processed", boolean=True)
    def being_processed(self, obj: StripeEvent) -> bool:
        return obj.is_being_processed

    @admin.display(description="Payload")
    def pretty_payload(self, obj: StripeEvent) -> str:
        """The event as Stripe sent it, with secrets (a PaymentIntent's ``client_secret``) hidden."""
        return pretty_json(obj.payload)

    @admin.display(description="Error")
    def error_text(self, obj: StripeEvent) -> str:
        return redacted_text(obj.error)

    @admin.action(description="Retry processing of the selected failed or stuck events")
    def retry_processing(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        """Failed events, and events stuck in ``received`` whose worker died or whose task was lost."""
        candidates = queryset.filter(status__in=[StripeEventStatus.FAILED, StripeEventStatus.RECEIVED]).order_by("pk")
        skipped = queryset.count()
        retried = 0
        for event in candidates:
            if not stripe_event_is_retryable(event):
                continue  # being processed right now
            try:
                stripe_event_retry(event=event, acting_user=request.user)  # type: ignore[arg-type]
            except PaymentError:
                continue  # processed meanwhile
            retried += 1
        skipped -= retried
        self.message_user(
            request,
            f"{retried} event(s) queued for processing; {skipped} skipped (processed or being processed).",
            messages.SUCCESS if retried else messages.WARNING,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a log: viewed, retried by the action, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResolveForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=2000, strip=True)


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(admin.ModelAdmin):
    """Disagreements between Stripe and the ledger; staff resolve them with a note (the fix
    itself, e.g. an adjustment or unfreezing a wallet, is done where it belongs)."""

    list_display = ["id", "kind", "status", "stripe_object_id", "ledger_transaction", "wallet", "created_at"]
    list_filter = ["status", "kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["=stripe_object_id", "=stripe_event_id", "=ledger_transaction__public_id", "detail"]
    date_hierarchy = "created_at"
    list_select_related = ["ledger_transaction", "wallet__user"]
    readonly_fields = [
        "kind",
        "status",
        "stripe_object_id",
        "stripe_event_id",
        "ledger_transaction",
        "wallet",
        "detail",
        "expected_json",
        "actual_json",
        "resolution_note",
        "resolved_by",
        "resolved_at",
        "created_at",
    ]
    fields = tuple(readonly_fields)
    actions = ["resolve_with_note"]

    @admin.display(description="Expected")
    def expected_json(self, obj: ReconciliationIssue) -> str:
        return pretty_json(obj.expected)

    @admin.display(description="Actual")
    def actual_json(self, obj: ReconciliationIssue) -> str:
        return pretty_json(obj.actual)

    @admin.action(description="Resolve the selected open issues with a note")
    def resolve_with_note(
        self, request: HttpRequest, queryset: QuerySet[ReconciliationIssue]
    ) -> TemplateResponse | None:
        issues = list(queryset.filter(status=ReconciliationIssueStatus.OPEN).order_by("pk"))
        if not issues:
            self.message_user(request, "None of the selected issues is open.", messages.WARNING)
            return None
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            resolved = 0
            for issue in issues:
                try:
                    reconciliation_issue_resolve(
                        issue=issue,
                        acting_user=request.user,  # type: ignore[arg-type]
                        note=form.cleaned_data["note"],
                    )
                except PaymentError as exc:
                    self.message_user(request, f"{issue}: {exc.detail}", messages.ERROR)
                else:
                    resolved += 1
            if resolved:
                self.message_user(request, f"{resolved} issue(s) resolved.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve reconciliation issues",
            "opts": self.model._meta,
            "issues": issues,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/payments/reconciliationissue/resolve.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # viewed here; changes go through the resolve action

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
