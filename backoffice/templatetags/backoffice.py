"""``{% backoffice_dashboard as dashboard %}`` for the admin index (templates/admin/index.html) and
``{{ amount|money:currency }}`` for amounts in the back-office's templates."""

from __future__ import annotations

from decimal import Decimal

from django import template

from backoffice.dashboard import Dashboard, dashboard_get
from backoffice.display import money as money_text

register = template.Library()


@register.simple_tag(takes_context=True)
def backoffice_dashboard(context: template.Context) -> Dashboard | None:
    """The dashboard for staff; nothing for anyone else."""
    user = context.get("user")
    if user is None or not getattr(user, "is_staff", False):
        return None
    return dashboard_get()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """``amount`` with ``currency``'s minor-unit digits (``backoffice.display.money``)."""
    return money_text(amount, currency)
