"""Input and output serializers of the events API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from events.models import Event, EventType

_DATETIME = serializers.DateTimeField()


class EventFilterSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.choices, required=False)
    after_sequence = serializers.IntegerField(
        required=False, min_value=0, help_text="Events after this sequence number, oldest first (catch-up)."
    )


class EventOutputSerializer(serializers.Serializer):
    """``{id, type, created_at, sequence, data}``; ``data.object`` is the REST representation of
    the transaction or wallet as the event's user sees it."""

    id = serializers.CharField(source="event_id", help_text="`evt_<uuid hex>`")
    type = serializers.ChoiceField(choices=EventType.choices)
    created_at = serializers.DateTimeField()
    sequence = serializers.IntegerField(help_text="Strictly increasing per user, without gaps.")
    data = serializers.JSONField(help_text='`{"object": {...}}`')  # type: ignore[assignment]

    def to_representation(self, instance: Event) -> dict[str, Any]:
        return event_payload(instance)


def event_payload(event: Event) -> dict[str, Any]:
    """The event object of the contract (also the body of a webhook delivery)."""
    return {
        "id": event.event_id,
        "type": str(event.type),
        "created_at": _DATETIME.to_representation(event.created_at),
        "sequence": event.sequence,
        "data": event.data,
    }
