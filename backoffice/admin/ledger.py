"""Django admin (back-office) for the ledger; writes go through services.

The ledger is append-only: nothing here edits or deletes a transaction or an entry (the
database would refuse anyway). Money moves from the back-office only through maker-checker
(``ledger.approvals``): staff *request* a reversal of a posted transaction or *propose* an
adjustment; another user of role admin or above approves (which posts it) or rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import Role, User
from backoffice.display import money, money_with_currency, pretty_json, short_id
from backoffice.helpers import CurrencyFilter, ReasonForm, object_form_page, reason_action
from ledger.approvals import (
    adjustment_propose,
    approval_approve,
    approval_approve_refusal,
    approval_can_decide,
    approval_reject,
    reversal_propose,
    superuser_threshold,
)
from ledger.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    Direction,
    IdempotencyKey,
    LedgerEntry,
    LedgerTransaction,
)
from vaultcore.errors import DomainError
from wallets.models import Wallet, WalletKind
from wallets.selectors import wallet_find


def _wallet_link(wallet: Wallet | None) -> str:
    if wallet is None:
        return "-"
    url = reverse("admin:wallets_wallet_change", args=[wallet.pk])
    history = reverse("admin:ledger_ledgertransaction_changelist")
    return format_html('<a href="{}">{}</a> (<a href="{}?wallet={}">history</a>)', url, wallet, history, wallet.pk)


def _transaction_link(txn: LedgerTransaction | None) -> str:
    if txn is None:
        return "-"
    url = reverse("admin:ledger_ledgertransaction_change", args=[txn.pk])
    return format_html('<a href="{}">{} {}</a>', url, txn.type, short_id(txn.public_id))


def _is_ascii_digits(value: str) -> bool:
    """``[0-9]+`` only: ``str.isdigit`` also accepts superscripts and Arabic-Indic digits (``int()`` fails on
    the first, reads the second)."""
    return value.isascii() and value.isdigit()


class WalletHistoryFilter(admin.SimpleListFilter):
    """``?wallet=<id>``: the transactions that debit or credit one wallet (its history)."""

    title = "wallet"
    parameter_name = "wallet"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"wallet #{value}")] if value and _is_ascii_digits(value) else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not _is_ascii_digits(value):
            return queryset.none()
        return queryset.filter(Q(debit_wallet_id=int(value)) | Q(credit_wallet_id=int(value)))


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("wallet_link", "direction", "amount_display", "currency", "balance_after_display", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("wallet__user")

    @admin.display(description="Wallet")
    def wallet_link(self, obj: LedgerEntry) -> str:
        return _wallet_link(obj.wallet)

    @admin.display(description="Amount")
    def amount_display(self, obj: LedgerEntry) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="Balance after")
    def balance_after_display(self, obj: LedgerEntry) -> str:
        return money(obj.balance_after, obj.currency)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(admin.ModelAdmin):
    list_display = (
        "short_public_id",
        "type",
        "status",
        "currency",
        "amount_display",
        "debit",
        "credit",
        "initiated_by",
        "created_at",
    )
    list_filter = ("type", "status", CurrencyFilter, ("created_at", admin.DateFieldListFilter), WalletHistoryFilter)
    search_fields = (
        "=public_id",
        "=reference",
        "debit_wallet__user__username",
        "credit_wallet__user__username",
        "initiated_by__username",
    )
    list_select_related = ("debit_wallet__user", "credit_wallet__user", "initiated_by")
    fields = (
        "public_id",
        "type",
        "status",
        "currency",
        "amount_display",
        "debit",
        "credit",
        "description",
        "reference",
        "metadata_json",
        "initiated_by",
        "reverses_link",
        "reversed_by_link",
        "created_at",
        "posted_at",
        "finalized_at",
    )
    readonly_fields = fields
    inlines = [LedgerEntryInline]
    actions = ["request_reversal"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerTransaction]:
        return super().get_queryset(request).select_related("debit_wallet__user", "credit_wallet__user", "initiated_by")

    @admin.display(description="Public id", ordering="public_id")
    def short_public_id(self, obj: LedgerTransaction) -> str:
        return short_id(obj.public_id)

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: LedgerTransaction) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="Metadata")
    def metadata_json(self, obj: LedgerTransaction) -> str:
        return pretty_json(obj.metadata)

    @admin.display(description="Debit (from)")
    def debit(self, obj: LedgerTransaction) -> str:
        return _wallet_link(obj.debit_wallet)

    @admin.display(description="Credit (to)")
    def credit(self, obj: LedgerTransaction) -> str:
        return _wallet_link(obj.credit_wallet)

    @admin.display(description="Reverses")
    def reverses_link(self, obj: LedgerTransaction) -> str:
        return _transaction_link(obj.reverses)

    @admin.display(description="Reversed by")
    def reversed_by_link(self, obj: LedgerTransaction) -> str:
        return _transaction_link(LedgerTransaction.objects.filter(reverses=obj).first())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LedgerTransaction | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LedgerTransaction | None = None) -> bool:
        return False  # view-only; changes go through the actions (services)

    @admin.action(description="Request reversal of selected posted transactions (needs an admin's approval)")
    def request_reversal(self, request: HttpRequest, queryset: QuerySet[LedgerTransaction]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="request_reversal",
            title="Request reversals",
            button="Request reversal",
            done="Reversals requested (waiting for approval)",
            apply=lambda txn, reason: reversal_propose(acting_user=acting_user, original=txn, reason=reason),
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "operation", "transaction_link", "created_at", "locked_at")
    search_fields = ("=key", "user__username")
    list_select_related = ("user", "transaction")
    fields = (
        "user",
        "key",
        "operation",
        "fingerprint",
        "transaction_link",
        "outcome_json",
        "created_at",
        "locked_at",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="Transaction")
    def transaction_link(self, obj: IdempotencyKey) -> str:
        return _transaction_link(obj.transaction)

    @admin.display(description="Outcome")
    def outcome_json(self, obj: IdempotencyKey) -> str:
        return pretty_json(obj.outcome) if obj.outcome is not None else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # expired keys are purged by the hourly task


class AdjustmentProposalForm(forms.Form):
    wallet = forms.CharField(
        label="Wallet",
        help_text="The wallet's public id (as on the wallet page and in the API), or its owner's username and "
        "currency, e.g. alice USD.",
    )
    direction = forms.ChoiceField(choices=Direction.choices, label="Direction", help_text="Credit adds money.")
    amount = forms.CharField(label="Amount", help_text='Exact, in the wallet\'s currency, e.g. "25.00".')
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)

    def clean_wallet(self) -> Wallet:
        raw: str = self.cleaned_data["wallet"].strip()
        parts = raw.split()
        if len(parts) == 1:
            wallet = wallet_find(public_id=parts[0])
        elif len(parts) == 2:
            qs = Wallet.objects.select_related("user").filter(kind=WalletKind.USER)
            wallet = qs.filter(user__username__iexact=parts[0], currency=parts[1].upper()).first()
        else:
            wallet = None
        if wallet is None:
            raise forms.ValidationError("No user wallet matches.")
        return wallet


def _decision_refusal(user: User, approval: ApprovalRequest) -> str | None:
    """Why ``user`` may not decide ``approval`` (``ledger.approvals.approval_can_decide``), or None."""
    if approval.status != ApprovalStatus.PENDING:
        return f"This request is already {approval.get_status_display().lower()}."
    if approval_can_decide(acting_user=user, approval=approval):
        return None
    if not user.has_role_at_least(Role.ADMIN):
        return "Only an admin or a superuser may approve or reject requests."
    if user.pk == approval.proposed_by_id:
        return "You proposed this request: another admin must decide it."
    return "This amount is above the superuser threshold: only a superuser may decide it."


def _decision_links(obj: ApprovalRequest, user: User) -> str:
    """The Approve/Reject buttons, for whoever may decide ``obj`` only; no Approve for a checker
    the request would credit (self-dealing), who may still reject it."""
    if _decision_refusal(user, obj) is not None:
        return "-"
    reject = format_html(
        '<a class="button" href="{}">Reject</a>', reverse("admin:ledger_approvalrequest_reject", args=[obj.pk])
    )
    if approval_approve_refusal(acting_user=user, approval=obj) is not None:
        return reject
    approve = reverse("admin:ledger_approvalrequest_approve", args=[obj.pk])
    return format_html('<a class="button" href="{}">Approve</a> {}', approve, reject)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = (
        "short_public_id",
        "kind",
        "status",
        "subject",
        "direction",
        "amount_display",
        "needs_superuser",
        "proposed_by",
        "proposed_at",
        "decided_by",
    )
    list_filter = ("status", "kind", CurrencyFilter, "direction")
    search_fields = ("=public_id", "proposed_by__username", "wallet__user__username", "reason")
    list_select_related = ("wallet__user", "original__debit_wallet", "proposed_by", "decided_by", "posted")
    fields = (
        "public_id",
        "kind",
        "status",
        "subject",
        "direction",
        "amount_display",
        "needs_superuser",
        "reason",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "posted_link",
    )
    readonly_fields = fields
    actions = ["approve_selected", "reject_selected"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalRequest]:
        return (
            super()
            .get_queryset(request)
            .select_related("wallet__user", "original__debit_wallet", "proposed_by", "decided_by", "posted")
        )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="ledger_approvalrequest_approve",
            ),
            path(
                "<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name="ledger_approvalrequest_reject"
            ),
        ]
        return own + super().get_urls()

    # --- columns ---------------------------------------------------------------------------
    @admin.display(description="Public id", ordering="public_id")
    def short_public_id(self, obj: ApprovalRequest) -> str:
        return short_id(obj.public_id)

    @admin.display(description="Wallet / transaction")
    def subject(self, obj: ApprovalRequest) -> str:
        if obj.kind == ApprovalKind.ADJUSTMENT:
            return _wallet_link(obj.wallet)
        return _transaction_link(obj.original)

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: ApprovalRequest) -> str:
        return money_with_currency(obj.amount, obj.currency)

    @admin.display(description="Superuser needed", boolean=True)
    def needs_superuser(self, obj: ApprovalRequest) -> bool:
        return obj.amount > superuser_threshold(obj.currency)

    @admin.display(description="Posted")
    def posted_link(self, obj: ApprovalRequest) -> str:
        return _transaction_link(obj.posted)

    def _decide_column(self, request: HttpRequest) -> Callable[[ApprovalRequest], str]:
        """The Approve/Reject buttons of a row or page, shown to whoever may decide it only."""
        user: User = request.user  # type: ignore[assignment]

        @admin.display(description="Decide")
        def decide(obj: ApprovalRequest) -> str:
            return _decision_links(obj, user)

        return decide

    def get_actions(self, request: HttpRequest) -> Any:
        """Bulk decisions only for who may decide at all (admin and above); the services still
        check each request (own proposals, the superuser threshold)."""
        actions = super().get_actions(request)
        user: User = request.user  # type: ignore[assignment]
        if not user.has_role_at_least(Role.ADMIN):
            actions.pop("approve_selected", None)
            actions.pop("reject_selected", None)
        return actions

    def get_list_display(self, request: HttpRequest) -> Any:
        """The buttons right after the status, where a narrow screen still shows them."""
        columns: list[Any] = list(self.list_display)
        columns.insert(columns.index("status") + 1, self._decide_column(request))
        return columns

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.fields, self._decide_column(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    # --- permissions: proposing is for staff+, deciding is checked by the services ----------
    def has_add_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- propose (the add page) -----------------------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        acting_user: User = request.user  # type: ignore[assignment]
        initial: dict[str, Any] = {"direction": Direction.CREDIT}
        wallet = wallet_find(public_id=request.GET.get("wallet", ""))
        if wallet is not None:
            initial["wallet"] = str(wallet.public_id)
        form = AdjustmentProposalForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                approval = adjustment_propose(
                    acting_user=acting_user,
                    wallet=form.cleaned_data["wallet"],
                    direction=Direction(form.cleaned_data["direction"]),
                    amount=form.cleaned_data["amount"].strip(),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                field = exc.attr if exc.attr in form.fields else None
                form.add_error(field, str(exc.detail))
            else:
                self.message_user(
                    request,
                    f"Adjustment proposed ({approval}); it moves no money until another admin approves it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:ledger_approvalrequest_changelist"))
        return object_form_page(
            self,
            request,
            obj=None,
            title="Propose an adjustment",
            form=form,
            button="Propose",
            intro="A credit or debit of a user wallet against the adjustments/equity account. "
            "Nothing is posted until a different admin (a superuser above the threshold) approves it.",
        )

    # --- decide one request ---------------------------------------------------------------
    def _decide_view(self, request: HttpRequest, pk: int, *, approve: bool) -> HttpResponse:
        """The Approve/Reject page of one request. Whoever may not decide it (below admin, its
        proposer, an admin above the superuser threshold) gets the page with the reason and no
        form (403), whatever the method: nothing is posted."""
        approval = get_object_or_404(
            ApprovalRequest.objects.select_related("wallet__user", "original__debit_wallet", "proposed_by"), pk=pk
        )
        acting_user: User = request.user  # type: ignore[assignment]
        title = f"{'Approve' if approve else 'Reject'} {approval}"
        intro = f"Proposed by {approval.proposed_by.username}: {approval.reason}"
        refusal = _decision_refusal(acting_user, approval)
        if refusal is None and approve:
            refusal = approval_approve_refusal(acting_user=acting_user, approval=approval)
        if refusal is not None:
            self.message_user(request, refusal, messages.ERROR)
            response = object_form_page(self, request, obj=approval, title=title, form=None, button="", intro=intro)
            response.status_code = 403
            return response
        form = ReasonForm(
            request.POST if request.method == "POST" else None,
            required=not approve,
            label="Note" if approve else "Why is it rejected?",
        )
        if request.method == "POST" and form.is_valid():
            try:
                if approve:
                    approval_approve(acting_user=acting_user, approval_id=approval.pk, note=form.cleaned_data["reason"])
                else:
                    approval_reject(acting_user=acting_user, approval_id=approval.pk, note=form.cleaned_data["reason"])
            except DomainError as exc:
                form.add_error(None, str(exc.detail))
            else:
                verb = "approved and posted" if approve else "rejected"
                self.message_user(request, f"Request {approval.public_id} {verb}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:ledger_approvalrequest_change", args=[approval.pk]))
        return object_form_page(
            self,
            request,
            obj=approval,
            title=title,
            form=form,
            button="Approve and post" if approve else "Reject",
            intro=intro,
        )

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_view(request, pk, approve=True)

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_view(request, pk, approve=False)

    # --- bulk decisions ---------------------------------------------------------------------
    @admin.action(description="Approve selected requests (posts them)")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="approve_selected",
            title="Approve requests",
            button="Approve and post",
            done="Requests approved and posted",
            required=False,
            label="Note",
            apply=lambda approval, note: approval_approve(acting_user=acting_user, approval_id=approval.pk, note=note),
        )

    @admin.action(description="Reject selected requests")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="reject_selected",
            title="Reject requests",
            button="Reject",
            done="Requests rejected",
            apply=lambda approval, note: approval_reject(acting_user=acting_user, approval_id=approval.pk, note=note),
        )
