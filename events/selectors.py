"""Reads of events: a user's own events only."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import User
from events.models import EVENT_ID_PREFIX, Event


def event_list(*, user: User, type: str | None = None, after_sequence: int | None = None) -> QuerySet[Event]:
    """``user``'s events (newest first; with ``after_sequence``, those after it, oldest first)."""
    qs = Event.objects.filter(user=user)
    if type:
        qs = qs.filter(type=type)
    if after_sequence is not None:
        return qs.filter(sequence__gt=after_sequence).order_by("sequence")
    return qs.order_by("-sequence")


def event_public_id(event_id: str) -> uuid.UUID | None:
    """The UUID of ``evt_<hex>``, or None when ``event_id`` is not one."""
    if not event_id.startswith(EVENT_ID_PREFIX):
        return None
    try:
        return uuid.UUID(hex=event_id.removeprefix(EVENT_ID_PREFIX))
    except ValueError:
        return None


def event_get(*, user: User, event_id: str) -> Event | None:
    """One of ``user``'s events by its public id; None for anyone else's (or no such event)."""
    public_id = event_public_id(event_id)
    if public_id is None:
        return None
    return Event.objects.filter(user=user, pk=public_id).first()
