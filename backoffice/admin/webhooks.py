"""Django admin (back-office) for webhooks; writes go through ``webhooks.services``.

Admins add and manage platform endpoints (no owner: they receive every user's events); a new
or rotated signing secret is shown once, on its own page (never in a message or a list). Users'
own endpoints are visible here read-only. Deliveries list their attempts, with a "send again"
action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from events.models import EventType
from webhooks.models import EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.network import UnsafeUrl, url_check
from webhooks.services import (
    delivery_resend,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
)

_EVENT_TYPES = ["*", *EventType.values]


def _https_url_fields(field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """Form fields of the model's fields, URLs assumed https when typed without a scheme (the
    admin builds subclasses of the form without its own callback)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class PlatformEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2048, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in _EVENT_TYPES], help_text='"*" for every event type.'
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "event_types", "description", "status"]
        formfield_callback = _https_url_fields

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if self.instance.pk is None or url != self.instance.url:
            try:
                url_check(url)
            except UnsafeUrl as exc:
                raise ValidationError(str(exc)) from exc
        return url

    def clean_event_types(self) -> list[str]:
        values: list[str] = self.cleaned_data["event_types"]
        return ["*"] if "*" in values else sorted(values)


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "platform"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Platform endpoints"), ("no", "Users' endpoints")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(user__isnull=self.value() == "yes")
        return queryset


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = PlatformEndpointForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["endpoint_id", "owner", "url", "status", "failing_since", "created_at"]
    list_filter = [OwnerFilter, "status"]
    search_fields = ["url", "user__username", "user__email"]
    list_select_related = ["user"]
    actions = ["rotate_secret"]

    @admin.display(description="Owner")
    def owner(self, obj: WebhookEndpoint) -> str:
        return "platform (every user's events)" if obj.user is None else obj.user.username

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        shown = ["endpoint_id", "owner", "disabled_reason", "failing_since", "created_at", "updated_at"]
        if obj is not None and obj.user_id is not None:
            return ["url", "event_types", "description", "status", *shown]
        return shown if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["url", "event_types", "description"]
        return ["endpoint_id", "owner", "url", "event_types", "description", "status", *self._more()]

    def _more(self) -> list[str]:
        return ["disabled_reason", "failing_since", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            endpoint, secret = endpoint_create(
                user=None, url=data["url"], event_types=data["event_types"], description=data.get("description", "")
            )
            obj.pk = endpoint.pk
            obj._new_secret = secret  # type: ignore[attr-defined]  # shown once by response_add
            return
        fresh = WebhookEndpoint.objects.get(pk=obj.pk)
        endpoint_update(
            endpoint=fresh,
            **{name: data[name] for name in ("url", "event_types", "description", "status") if name in data},
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_delete(endpoint=endpoint)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related to save (the service wrote the endpoint)."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return super().log_addition(request, WebhookEndpoint.objects.get(pk=obj.pk), message)

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None) -> Any:
        endpoint = WebhookEndpoint.objects.get(pk=obj.pk)
        return self._secret_page(request, endpoint, obj._new_secret, rotated=False)  # type: ignore[attr-defined]

    def _secret_page(self, request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, rotated: bool) -> Any:
        context = {
            **self.admin_site.each_context(request),
            "title": "Webhook signing secret",
            "endpoint": endpoint,
            "secret": secret,
            "rotated": rotated,
        }
        response = TemplateResponse(request, "admin/webhooks/secret_once.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Rotate the signing secret of the selected platform endpoint")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        platform = list(queryset.filter(user__isnull=True))
        if len(platform) != 1 or queryset.count() != 1:
            self.message_user(request, "Select exactly one platform endpoint.", messages.WARNING)
            return None
        secret = endpoint_rotate_secret(endpoint=platform[0])
        return self._secret_page(request, platform[0], secret, rotated=True)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.user_id is not None:
            return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)
        return super().has_change_permission(request, obj)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fk_name = "delivery"
    extra = 0
    can_delete = False
    fields = ("attempt", "manual", "status_code", "succeeded", "error", "duration_ms", "response_body", "created_at")
    readonly_fields = fields
    ordering = ["id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "event_type", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["=id", "endpoint__url"]
    list_select_related = ["endpoint", "event"]
    readonly_fields = (
        "endpoint",
        "event_id_shown",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    )
    fields = readonly_fields
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    @admin.display(description="Event")
    def event_id_shown(self, obj: WebhookDelivery) -> str:
        return obj.event.event_id

    @admin.display(description="Event type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.action(description="Send again now")
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent = 0
        for delivery in queryset.select_related("endpoint"):
            if delivery.endpoint.status != EndpointStatus.ENABLED:
                continue
            delivery_resend(delivery=delivery)
            sent += 1
        skipped = queryset.count() - sent
        self.message_user(
            request,
            f"{sent} deliver{'y' if sent == 1 else 'ies'} queued again; {skipped} skipped (endpoint disabled).",
            messages.SUCCESS if sent else messages.WARNING,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
