"""Aggregations several apps' selectors share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate


def daily_counts(queryset: QuerySet[Any], *, field: str) -> list[Mapping[str, Any]]:
    """Rows of ``queryset`` per UTC day of the datetime ``field``, oldest first: ``day``, ``n``
    (one grouped query)."""
    return list(
        queryset.annotate(day=TruncDate(field, tzinfo=UTC)).values("day").annotate(n=Count("id")).order_by("day")
    )
