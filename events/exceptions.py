"""Errors of the events API (mapped to the contract's shape by ``vaultcore.errors``)."""

from __future__ import annotations

from rest_framework import status

from vaultcore.errors import DomainError


class EventError(DomainError):
    """Base of the events app's errors."""


class EventNotFound(EventError):
    """No event of the caller has this id (someone else's is as good as missing)."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "No such event."
