"""Shared pieces of the back-office admin pages: the intermediate "reason" page of actions.

Every back-office action that changes something asks for a written reason on an intermediate
page (Django's action confirmation pattern): the first POST from the change list renders the
form; the second POST (with ``apply``) validates it and calls the service once per object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from vaultcore.errors import DomainError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        strip=True,
        help_text="Recorded in the audit trail.",
    )

    def __init__(self, *args: Any, required: bool = True, label: str = "Reason", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        self.fields["reason"].label = label


def domain_error_text(exc: DomainError) -> str:
    return str(exc.detail)


def reason_action(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: str,
    button: str,
    apply: Callable[[Any, str], object],
    done: str,
    required: bool = True,
    label: str = "Reason",
) -> TemplateResponse | None:
    """Ask for a reason, then ``apply(obj, reason)`` to each selected object (ascending pk).

    Domain errors are reported per object; the others still run (each call is its own
    transaction). Returns the intermediate page, or None to go back to the change list.
    """
    form = ReasonForm(request.POST if "apply" in request.POST else None, required=required, label=label)
    if "apply" in request.POST and form.is_valid():
        reason: str = form.cleaned_data["reason"]
        succeeded: list[str] = []
        for obj in queryset.order_by("pk"):
            try:
                apply(obj, reason)
                succeeded.append(str(obj))
            except DomainError as exc:
                model_admin.message_user(request, f"{obj}: {domain_error_text(exc)}", level=messages.ERROR)
        if succeeded:
            model_admin.message_user(request, f"{done}: {len(succeeded)}.", level=messages.SUCCESS)
        return None
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "queryset": queryset,
        "form": form,
        "action": action,
        "button": button,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)],
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/backoffice/reason_action.html", context)


def object_form_page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    obj: Model | None,
    title: str,
    form: forms.Form | None,
    button: str,
    intro: str = "",
) -> TemplateResponse:
    """A one-form admin page (propose an adjustment, approve/reject one request); without a form
    (the user may not do it), the page shows its messages and a way back, no button."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "original": obj,
        "form": form,
        "button": button,
        "intro": intro,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/backoffice/form_page.html", context)


class CurrencyFilter(admin.SimpleListFilter):
    """Currency filter from the enabled currencies (``WALLET_CURRENCIES``): no ``SELECT DISTINCT``
    over a large table to build the choices."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        currencies: list[str] = list(settings.WALLET_CURRENCIES)
        return [(code, code) for code in currencies]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(currency=value) if value else queryset
