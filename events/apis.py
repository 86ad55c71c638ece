"""HTTP endpoints of events: the caller's events, to catch up without webhooks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from events.exceptions import EventNotFound
from events.selectors import event_get, event_list
from events.serializers import EventFilterSerializer, EventOutputSerializer
from vaultcore.openapi import error_responses
from vaultcore.pagination import LimitCursorPagination


def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


class NewestFirstPagination(LimitCursorPagination):
    """A user's events by their sequence (the cursor's position is a sequence number)."""

    ordering = "-sequence"


class OldestFirstPagination(LimitCursorPagination):
    ordering = "sequence"


class EventListApi(APIView):
    pagination_class = NewestFirstPagination

    @extend_schema(
        operation_id="events_list",
        parameters=[
            EventFilterSerializer,
            OpenApiParameter("limit", int, description="Page size, default 50, max 200."),
            OpenApiParameter("cursor", str, description="Opaque cursor from `next`/`previous`."),
        ],
        responses={200: EventOutputSerializer(many=True)},
        description="Your events, newest first; with `after_sequence`, those after it, oldest first.",
    )
    def get(self, request: Request) -> Response:
        filters = EventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = event_list(user=_user(request), **filters.validated_data)
        after = filters.validated_data.get("after_sequence") is not None
        paginator = OldestFirstPagination() if after else self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EventOutputSerializer(page, many=True).data)


class EventDetailApi(APIView):
    @extend_schema(operation_id="events_retrieve", responses={200: EventOutputSerializer, **error_responses(404)})
    def get(self, request: Request, id: Any) -> Response:  # the contract's path parameter name
        event = event_get(user=_user(request), event_id=str(id))
        if event is None:
            raise EventNotFound()
        return Response(EventOutputSerializer(event).data)
