"""Helpers of the webhooks tests: endpoints made through the real service."""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import User
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create


def endpoint(
    *, user: User | None, url: str, event_types: Sequence[str] = ("*",), description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """An enabled endpoint of ``user`` (None: a platform endpoint) and its secret."""
    return endpoint_create(user=user, url=url, event_types=event_types, description=description)
