"""The back-office admin site: Django's, with the API log-in's brute-force limits on its log-in."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.throttles import login_throttle_wait


class VaultAdminSite(admin.AdminSite):
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Log-in attempts count against the same per-IP and per-account limits as
        ``POST /api/v1/auth/token/``; past them the form answers 429 without checking the password."""
        if request.method == "POST":
            wait = login_throttle_wait(request, account=request.POST.get("username"))
            if wait is not None:
                context = {**self.each_context(request), "title": "Too many log-in attempts", "wait": int(wait)}
                response = TemplateResponse(request, "admin/login_throttled.html", context, status=429)
                response["Retry-After"] = str(int(wait))
                return response
        return super().login(request, extra_context)


class VaultAdminConfig(AdminConfig):
    default_site = "backoffice.site.VaultAdminSite"
