"""HTTP endpoints of webhooks: the caller's endpoints, their secrets and deliveries log."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from vaultcore.openapi import error_responses
from vaultcore.pagination import LimitCursorPagination
from webhooks import selectors, services
from webhooks.exceptions import DeliveryNotFound, EndpointNotFound
from webhooks.models import WebhookEndpoint
from webhooks.serializers import (
    AttemptOutputSerializer,
    EndpointCreatedSerializer,
    EndpointCreateSerializer,
    EndpointOutputSerializer,
    EndpointUpdateSerializer,
    SecretSerializer,
)


def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _endpoint(request: Request, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = selectors.endpoint_get(user=_user(request), endpoint_id=str(endpoint_id))
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


class EndpointListCreateApi(APIView):
    @extend_schema(operation_id="webhook_endpoints_list", responses={200: EndpointOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoint_list(user=_user(request))
        return Response(EndpointOutputSerializer(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=EndpointCreateSerializer,
        responses={201: EndpointCreatedSerializer, **error_responses(422)},
        description=(
            "Add an endpoint; its `secret` is shown only in this response. The URL must be https and "
            "resolve to public addresses only (else 400 on `url`); at most 10 endpoints "
            "(422 `endpoint_limit_reached`)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = EndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.endpoint_create(user=_user(request), **serializer.validated_data)
        return Response(EndpointCreatedSerializer(created).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    @extend_schema(operation_id="webhook_endpoints_retrieve", responses={200: EndpointOutputSerializer})
    def get(self, request: Request, id: Any) -> Response:
        return Response(EndpointOutputSerializer(_endpoint(request, id)).data)

    @extend_schema(
        operation_id="webhook_endpoints_partial_update",
        request=EndpointUpdateSerializer,
        responses={200: EndpointOutputSerializer},
    )
    def patch(self, request: Request, id: Any) -> Response:
        endpoint = _endpoint(request, id)
        serializer = EndpointUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, **serializer.validated_data)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_destroy", responses={204: None})
    def delete(self, request: Request, id: Any) -> Response:
        services.endpoint_delete(endpoint=_endpoint(request, id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        request=None,
        responses={200: SecretSerializer},
        description="A new secret; the old one keeps signing alongside it for 24 h.",
    )
    def post(self, request: Request, id: Any) -> Response:
        secret = services.endpoint_rotate_secret(endpoint=_endpoint(request, id))
        return Response(SecretSerializer({"secret": secret}).data)


class DeliveryListApi(APIView):
    pagination_class = LimitCursorPagination

    @extend_schema(
        operation_id="webhook_endpoints_deliveries_list",
        parameters=[
            OpenApiParameter("limit", int, description="Page size, default 50, max 200."),
            OpenApiParameter("cursor", str, description="Opaque cursor from `next`/`previous`."),
        ],
        responses={200: AttemptOutputSerializer(many=True)},
        description="Delivery attempts to this endpoint, newest first.",
    )
    def get(self, request: Request, id: Any) -> Response:
        attempts = selectors.attempt_list(endpoint=_endpoint(request, id))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(attempts, request, view=self)
        return paginator.get_paginated_response(AttemptOutputSerializer(page, many=True).data)


class DeliveryRetryApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_deliveries_retry",
        request=None,
        responses={202: None, **error_responses(404)},
        description="Send that delivery's event to the endpoint again now.",
    )
    def post(self, request: Request, id: Any, delivery_id: Any) -> Response:
        attempt = selectors.attempt_get(endpoint=_endpoint(request, id), attempt_id=str(delivery_id))
        if attempt is None:
            raise DeliveryNotFound()
        services.delivery_resend(delivery=attempt.delivery)
        return Response(status=status.HTTP_202_ACCEPTED)
