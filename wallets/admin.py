"""Django admin (back-office) for wallets; writes go through services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from vaultcore.errors import DomainError
from wallets.models import Wallet
from wallets.services import wallet_freeze, wallet_unfreeze


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    """Read-only: balances change only through ledger services. Staff may freeze/unfreeze."""

    list_display = ("public_id", "kind", "user", "system_code", "currency", "balance", "held", "status", "created_at")
    list_filter = ("kind", "currency", "status", "system_code")
    search_fields = ("public_id", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in Wallet._meta.fields]
    actions = ["freeze", "unfreeze"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Wallet | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Wallet | None = None) -> bool:
        return False  # view-only; changes go through the actions (services)

    def _apply(self, request: HttpRequest, queryset: QuerySet[Wallet], frozen: bool) -> None:
        acting_user: User = request.user  # type: ignore[assignment]
        service = wallet_freeze if frozen else wallet_unfreeze
        done = 0
        for wallet in queryset.order_by("pk"):
            try:
                service(acting_user=acting_user, wallet=wallet)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{wallet}: {exc.detail}", level=messages.ERROR)
        self.message_user(request, f"{done} wallet(s) {'frozen' if frozen else 'unfrozen'}.")

    @admin.action(description="Freeze selected wallets (no sending or receiving)")
    def freeze(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> None:
        self._apply(request, queryset, frozen=True)

    @admin.action(description="Unfreeze selected wallets")
    def unfreeze(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> None:
        self._apply(request, queryset, frozen=False)
