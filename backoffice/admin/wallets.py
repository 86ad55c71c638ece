"""Django admin (back-office) for wallets; writes go through services.

Read-only: balances change only through the ledger's services. Staff freeze and unfreeze with
a required reason (an intermediate page; audited by the service). Each wallet links to its
ledger history and to a proposed adjustment (maker-checker, ``ledger.approvals``).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from backoffice.display import money, short_id
from backoffice.helpers import CurrencyFilter, reason_action
from wallets.models import Wallet, WalletKind
from wallets.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from wallets.services import wallet_freeze, wallet_unfreeze


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = (
        "short_public_id",
        "owner",
        "currency",
        "balance_amount",
        "held_amount",
        "available_amount",
        "status",
        "history",
        "created_at",
    )
    list_filter = (CurrencyFilter, "status", "kind", "system_code")
    search_fields = ("=public_id", "user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = (
        "public_id",
        "kind",
        "owner",
        "system_code",
        "currency",
        "balance_amount",
        "held_amount",
        "available_amount",
        "status",
        "outgoing_day",
        "outgoing_today_amount",
        "created_at",
        "updated_at",
        "history",
        "audit_trail",
        "propose_adjustment",
    )
    fields = readonly_fields
    actions = ["freeze", "unfreeze"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Wallet]:
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(
                available_annotated=ExpressionWrapper(
                    F("balance") - F("held"),
                    output_field=DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES),
                )
            )
        )

    @admin.display(description="Public id", ordering="public_id")
    def short_public_id(self, obj: Wallet) -> str:
        return short_id(obj.public_id)

    @admin.display(description="Owner", ordering="user__username")
    def owner(self, obj: Wallet) -> str:
        if obj.kind == WalletKind.SYSTEM:
            return f"system: {obj.get_system_code_display()}"
        assert obj.user is not None
        url = reverse("admin:accounts_user_change", args=[obj.user_id])
        return format_html('<a href="{}">{}</a>', url, obj.user.username)

    @admin.display(description="Balance", ordering="balance")
    def balance_amount(self, obj: Wallet) -> str:
        return money(obj.balance, obj.currency)

    @admin.display(description="Held", ordering="held")
    def held_amount(self, obj: Wallet) -> str:
        return money(obj.held, obj.currency)

    @admin.display(description="Available", ordering="available_annotated")
    def available_amount(self, obj: Wallet) -> str:
        available: Decimal = getattr(obj, "available_annotated", obj.available)
        return money(available, obj.currency)

    @admin.display(description="Outgoing today")
    def outgoing_today_amount(self, obj: Wallet) -> str:
        return money(obj.outgoing_today, obj.currency)

    @admin.display(description="History")
    def history(self, obj: Wallet) -> str:
        url = reverse("admin:ledger_ledgertransaction_changelist")
        return format_html('<a href="{}?wallet={}">transactions</a>', url, obj.pk)

    @admin.display(description="Audit trail")
    def audit_trail(self, obj: Wallet) -> str:
        url = reverse("admin:audit_auditevent_changelist")
        return format_html('<a href="{}?target_type=wallets.wallet&amp;target_id={}">audit events</a>', url, obj.pk)

    @admin.display(description="Adjustment")
    def propose_adjustment(self, obj: Wallet) -> str:
        if obj.kind != WalletKind.USER:
            return "-"
        url = reverse("admin:ledger_approvalrequest_add")
        return format_html('<a href="{}?wallet={}">Propose a credit or debit (needs approval)</a>', url, obj.public_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Wallet | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Wallet | None = None) -> bool:
        return False  # view-only; changes go through the actions (services)

    @admin.action(description="Freeze selected wallets (no sending or receiving)")
    def freeze(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="freeze",
            title="Freeze wallets",
            button="Freeze",
            done="Wallets frozen",
            apply=lambda wallet, reason: wallet_freeze(acting_user=acting_user, wallet=wallet, reason=reason),
        )

    @admin.action(description="Unfreeze selected wallets")
    def unfreeze(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="unfreeze",
            title="Unfreeze wallets",
            button="Unfreeze",
            done="Wallets unfrozen",
            apply=lambda wallet, reason: wallet_unfreeze(acting_user=acting_user, wallet=wallet, reason=reason),
        )
