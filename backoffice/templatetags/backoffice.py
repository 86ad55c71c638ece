"""``{% backoffice_dashboard as dashboard %}`` for the admin index (templates/admin/index.html)."""

from __future__ import annotations

from django import template

from backoffice.dashboard import Dashboard, dashboard_get

register = template.Library()


@register.simple_tag(takes_context=True)
def backoffice_dashboard(context: template.Context) -> Dashboard | None:
    """The dashboard for staff; nothing for anyone else."""
    user = context.get("user")
    if user is None or not getattr(user, "is_staff", False):
        return None
    return dashboard_get()
