"""DRF permissions from role weights (``User.has_role_at_least``)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Role


class _RoleAtLeast(BasePermission):
    role: str = Role.USER

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_role_at_least(self.role))


class IsStaff(_RoleAtLeast):
    """Staff, admins and superusers."""

    role = Role.STAFF


class IsAdmin(_RoleAtLeast):
    """Admins and superusers."""

    role = Role.ADMIN
