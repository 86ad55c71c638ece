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
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts import services
from accounts.exceptions import AccountsError
from accounts.models import User, role_weight
from backoffice.helpers import reason_action


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


# Authority comes from ``User.role`` alone (``accounts.models.ROLE_ADMIN_PERMISSIONS``): groups
# grant nothing, so they have no admin page.
admin.site.unregister(Group)


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
        "wallets_link",
        "audit_trail",
    ]
    fieldsets = [
        (None, {"fields": ["username", "email", "is_email_verified", "is_active"]}),
        ("Name", {"fields": ["first_name", "middle_name", "last_name"]}),
        ("Access", {"fields": ["role", "token_version", "last_login", "date_joined"]}),
        ("Back-office", {"fields": ["wallets_link", "audit_trail"]}),
    ]
    actions = ["revoke_sessions", "deactivate", "resend_verification"]
    show_full_result_count = False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        acting_user = request.user

        class BoundForm(form_class):  # type: ignore[valid-type, misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                kw["acting_user"] = acting_user
                super().__init__(*args, **kw)

        return BoundForm

    @admin.display(description="Wallets")
    def wallets_link(self, obj: User) -> str:
        url = reverse("admin:wallets_wallet_changelist")
        return format_html('<a href="{}?user__id__exact={}">wallets</a>', url, obj.pk)

    @admin.display(description="Audit trail")
    def audit_trail(self, obj: User) -> str:
        url = reverse("admin:audit_auditevent_changelist")
        return format_html(
            '<a href="{}?target_type=accounts.user&amp;target_id={}">events about this user</a> · '
            '<a href="{}?actor__id__exact={}">actions by this user</a>',
            url,
            obj.pk,
            url,
            obj.pk,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The role is read-only on your own account and on anyone at or above your weight."""
        fields = list(super().get_readonly_fields(request, obj))
        acting_user: User = request.user  # type: ignore[assignment]
        if obj is not None and (obj.pk == acting_user.pk or obj.role_weight >= acting_user.role_weight):
            fields.append("role")
        return fields

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Offer only the roles the operator may give (strictly below their own weight)."""
        if db_field.name == "role":
            acting_user: User = request.user  # type: ignore[assignment]
            kwargs["choices"] = [
                (value, label) for value, label in db_field.choices if 0 < role_weight(value) < acting_user.role_weight
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

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
            acting_user=request.user,  # type: ignore[arg-type]
        )
        if "role" in form.cleaned_data and form.cleaned_data["role"] != original.role:
            services.user_role_change(acting_user=request.user, user=original, role=form.cleaned_data["role"])  # type: ignore[arg-type]

    @admin.action(description="Revoke all sessions (every token stops working)")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="revoke_sessions",
            title="Revoke all sessions",
            button="Revoke sessions",
            done="Sessions revoked",
            apply=lambda user, reason: services.user_sessions_revoke_by(
                acting_user=acting_user, user=user, reason=reason
            ),
        )

    @admin.action(description="Deactivate (and revoke all sessions)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> TemplateResponse | None:
        acting_user: User = request.user  # type: ignore[assignment]
        return reason_action(
            self,
            request,
            queryset,
            action="deactivate",
            title="Deactivate users",
            button="Deactivate",
            done="Users deactivated",
            apply=lambda user, reason: services.user_deactivate(acting_user=acting_user, user=user, reason=reason),
        )

    @admin.action(description="Resend the verification email")
    def resend_verification(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        acting_user: User = request.user  # type: ignore[assignment]
        sent: list[str] = []
        skipped: list[str] = []
        for user in queryset.order_by("pk"):
            try:
                done = services.user_verification_resend(acting_user=acting_user, user=user)
            except AccountsError:
                done = False
            (sent if done else skipped).append(user.username)
        if sent:
            self.message_user(request, f"Verification email queued for: {', '.join(sent)}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Nothing sent (already verified or inactive): {', '.join(skipped)}.", messages.WARNING
            )
