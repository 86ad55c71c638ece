"""Input and output serializers of the webhooks API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from events.models import EventType
from webhooks.models import EndpointStatus, WebhookAttempt

_EVENT_TYPE_CHOICES = ["*", *EventType.values]


class EventTypesField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.ChoiceField(choices=_EVENT_TYPE_CHOICES),
            allow_empty=False,
            max_length=len(_EVENT_TYPE_CHOICES),
            help_text='Event types to receive, or `["*"]` for all.',
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        values: list[str] = super().to_internal_value(data)
        return ["*"] if "*" in values else sorted(set(values))


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2048)
    event_types = EventTypesField()
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2048, required=False)
    event_types = EventTypesField(required=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=EndpointStatus.choices, required=False)


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="endpoint_id", help_text="`we_<uuid hex>`")
    url = serializers.URLField()
    event_types = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=EndpointStatus.choices)
    created_at = serializers.DateTimeField()


class EndpointCreatedSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text="`whsec_…`: shown only now; verifies the signatures.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        endpoint, secret = instance
        data: dict[str, Any] = super().to_representation(endpoint)
        data["secret"] = secret
        return data


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new `whsec_…` secret (the old one signs too for 24 h).")


class AttemptOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="attempt_id", help_text="`wdl_<uuid hex>`")
    event_id = serializers.SerializerMethodField()
    attempt = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    succeeded = serializers.BooleanField()
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_event_id(self, obj: WebhookAttempt) -> str:
        return obj.delivery.event.event_id
