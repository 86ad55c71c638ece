"""Django admin (back-office) for accounts; writes go through services.

Role changes obey the API's hierarchy rule (``services.role_change_allowed``): the form refuses
a role the operator may not give, and the save goes through ``user_role_change``, which checks
again on the locked row and revokes the user's tokens. Users are never deleted or created here
(deactivate instead; users register through the API or ``bootstrap_superuser``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.exceptions import AccountsError
from accounts.models import User


class UserAdminForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "middle_name", "last_name", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.acting_user: User | None = kwargs.pop("acting_user", None)
        super().__init__(*args, **kwargs)

    def clean_role(self) -> str:
        role: str = self.cleaned_data["role"]
        changed = self.instance.pk and role != self.instance.role and self.acting_user is not None
        if changed and not services.role_change_allowed(acting_user=self.acting_user, user=self.instance, role=role):  # type: ignore[arg-type]
            raise forms.ValidationError(
                "You may only change users below your own role, to roles below your own, and never yourself."
            )
        return role


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = UserAdminForm
    list_display = [
        "username",
        "email",
        "role",
        "is_email_verified",
        "token_version",
        "is_active",
        "date_joined",
    ]
    list_filter = ["role", "is_email_verified", "is_active"]
    search_fields = ["username", "email", "first_name", "middle_name", "last_name"]
    ordering = ["-id"]
    readonly_fields = [
        "username",
        "email",
        "is_email_verified",
        "is_active",
        "token_version",
        "date_joined",
        "last_login",
    ]
    fieldsets = [
        (None, {"fields": ["username", "email", "is_email_verified", "is_active"]}),
        ("Name", {"fields": ["first_name", "middle_name", "last_name"]}),
        ("Access", {"fields": ["role", "token_version", "last_login", "date_joined"]}),
    ]
    actions = ["revoke_sessions", "deactivate"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        acting_user = request.user

        class BoundForm(form_class):  # type: ignore[valid-type, misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                kw["acting_user"] = acting_user
                super().__init__(*args, **kw)

        return BoundForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Names through ``user_update``, the role through ``user_role_change`` (never ``obj.save()``)."""
        original = User.objects.get(pk=obj.pk)
        services.user_update(
            user=original,
            first_name=form.cleaned_data["first_name"],
            middle_name=form.cleaned_data["middle_name"],
            last_name=form.cleaned_data["last_name"],
        )
        if form.cleaned_data["role"] != original.role:
            services.user_role_change(acting_user=request.user, user=original, role=form.cleaned_data["role"])  # type: ignore[arg-type]

    @admin.action(description="Revoke all sessions (every token stops working)", permissions=["change"])
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._apply(request, queryset, services.user_sessions_revoke_by, "Sessions revoked for")

    @admin.action(description="Deactivate (and revoke all sessions)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._apply(request, queryset, services.user_deactivate, "Deactivated")

    def _apply(self, request: HttpRequest, queryset: QuerySet[User], service: Any, done: str) -> None:
        succeeded, refused = [], []
        for user in queryset.order_by("pk"):
            try:
                service(acting_user=request.user, user=user)
                succeeded.append(user.username)
            except AccountsError:
                refused.append(user.username)
        if succeeded:
            self.message_user(request, f"{done}: {', '.join(succeeded)}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"Not allowed (role not below yours, or yourself): {', '.join(refused)}.", messages.ERROR
            )
