"""Reads of webhooks: a user's own endpoints and their delivery attempts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import User
from webhooks.models import ATTEMPT_ID_PREFIX, ENDPOINT_ID_PREFIX, WebhookAttempt, WebhookEndpoint


def _uuid(value: str, prefix: str) -> uuid.UUID | None:
    if not value.startswith(prefix):
        return None
    try:
        return uuid.UUID(hex=value.removeprefix(prefix))
    except ValueError:
        return None


def endpoint_list(*, user: User) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(user=user).order_by("-created_at", "-id")


def endpoint_get(*, user: User, endpoint_id: str) -> WebhookEndpoint | None:
    """One of ``user``'s endpoints (never a platform endpoint or another user's)."""
    pk = _uuid(endpoint_id, ENDPOINT_ID_PREFIX)
    if pk is None:
        return None
    return WebhookEndpoint.objects.filter(user=user, pk=pk).first()


def attempt_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookAttempt]:
    """The endpoint's delivery attempts, newest first."""
    return WebhookAttempt.objects.filter(endpoint=endpoint).select_related("delivery__event").order_by("-id")


def attempt_get(*, endpoint: WebhookEndpoint, attempt_id: str) -> WebhookAttempt | None:
    public_id = _uuid(attempt_id, ATTEMPT_ID_PREFIX)
    if public_id is None:
        return None
    return WebhookAttempt.objects.filter(endpoint=endpoint, public_id=public_id).select_related("delivery").first()
