"""Errors of the webhooks API (mapped to the contract's shape by ``vaultcore.errors``)."""

from __future__ import annotations

from rest_framework import status

from vaultcore.errors import DomainError


class WebhookError(DomainError):
    """Base of the webhooks app's errors."""


class EndpointNotFound(WebhookError):
    """No endpoint of the caller has this id."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "No such webhook endpoint."


class DeliveryNotFound(WebhookError):
    """No delivery attempt of this endpoint has this id."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "No such delivery."


class EndpointUrlNotAllowed(WebhookError):
    """The endpoint URL is not https or does not resolve to public addresses only."""

    code = "invalid"
    attr = "url"
    default_detail = "This URL cannot receive webhooks."


class EndpointLimitReached(WebhookError):
    """The user has the maximum number of endpoints already."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "endpoint_limit_reached"
    default_detail = "You have the maximum number of webhook endpoints."
