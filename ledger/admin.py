"""Django admin (back-office) for ledger; writes go through services.

The ledger is append-only: nothing here edits or deletes a transaction or an entry (the
database would refuse anyway). Staff may reverse posted transactions, which posts a new,
opposite transaction through ``transaction_reverse``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from ledger.models import LedgerEntry, LedgerTransaction
from ledger.services import transaction_reverse
from vaultcore.errors import DomainError


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("wallet", "direction", "amount", "currency", "balance_after", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: LedgerTransaction | None = None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(admin.ModelAdmin):
    list_display = ("public_id", "type", "status", "currency", "amount", "debit_wallet", "credit_wallet", "created_at")
    list_filter = ("type", "status", "currency")
    search_fields = ("public_id", "reference", "description")
    list_select_related = ("debit_wallet", "credit_wallet")
    readonly_fields = [f.name for f in LedgerTransaction._meta.fields]
    inlines = [LedgerEntryInline]
    actions = ["reverse"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LedgerTransaction | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LedgerTransaction | None = None) -> bool:
        return False  # view-only; changes go through the actions (services)

    @admin.action(description="Reverse selected posted transactions (posts an opposite transaction)")
    def reverse(self, request: HttpRequest, queryset: QuerySet[LedgerTransaction]) -> None:
        acting_user: User = request.user  # type: ignore[assignment]
        done = 0
        for txn in queryset.order_by("pk"):
            try:
                transaction_reverse(
                    acting_user=acting_user, transaction_id=txn.pk, reason="Reversed in the back-office"
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{txn.public_id}: {exc.detail}", level=messages.ERROR)
        self.message_user(request, f"{done} transaction(s) reversed.")
